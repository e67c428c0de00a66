package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository's top directory (this package is cmd/sanbao).
const repoRoot = "../.."

// The image stamps the version it is built from: the Dockerfile passes its
// VERSION build argument to the linker as main.buildVersion, the variable
// "sanbao version" prints (a container's build context has no .git, so Go
// records no VCS revision of its own).
func TestDockerfileStampsTheVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{"ARG VERSION", "-X main.buildVersion=${VERSION}"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

// markdownLink finds the target of a Markdown link: [text](target).
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// A clone has only the repository: the README and docs/ link to files in
// it (not to ../shared/design, which a clone lacks), and every relative
// link leads to a file that exists.
func TestDocumentationLinksStayInTheRepository(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(repoRoot, "README.md"), filepath.Join(repoRoot, "bench", "README.md"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "shared/design") {
			t.Errorf("%s refers to shared/design, which a clone does not have", f)
		}
		for _, m := range markdownLink.FindAllStringSubmatch(string(b), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", f, m[1])
			}
		}
	}
}
