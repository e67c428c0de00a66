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

// The README's tutorial writes its files in a temporary folder, never in
// the checkout: it changes into one before its first command that writes.
func TestTutorialRunsInATemporaryFolder(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Five minutes with curl")
	if !ok {
		t.Fatal("the README has no section \"Five minutes with curl\"")
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	cd := strings.Index(block, `cd "$(mktemp -d)"`)
	if cd < 0 {
		t.Fatalf("the tutorial does not change into a temporary folder:\n%s", block)
	}
	for _, w := range []string{" -o ", " > ", "build -o", "2> "} {
		if i := strings.Index(block, w); i >= 0 && i < cd {
			t.Errorf("the tutorial writes (%q) before it changes into a temporary folder", w)
		}
	}
}

// The README names every package .ci/run installs.
func TestReadmeListsWhatCIInstalls(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join(repoRoot, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// "command:package" pairs and missing+=(package) lines.
	var pkgs []string
	for _, m := range regexp.MustCompile(`[a-z0-9]+:([a-z0-9-]+)`).FindAllStringSubmatch(string(ci), -1) {
		pkgs = append(pkgs, m[1])
	}
	for _, m := range regexp.MustCompile(`missing\+=\(([a-z0-9-]+)\)`).FindAllStringSubmatch(string(ci), -1) {
		pkgs = append(pkgs, m[1])
	}
	if len(pkgs) < 2 {
		t.Fatalf("found no packages in .ci/run (%q)", pkgs)
	}
	for _, p := range pkgs {
		if !strings.Contains(string(readme), "`"+p+"`") {
			t.Errorf(".ci/run installs %s; the README does not name it", p)
		}
	}
}
