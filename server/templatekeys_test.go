package server

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/sanbao/sanbao/server/locale"
)

// TestEveryTemplateKeyIsInBothLanguages walks the console's and the public
// page's templates: every literal key given to "t" is in every language.
func TestEveryTemplateKeyIsInBothLanguages(t *testing.T) {
	var consoleFuncNames []string
	for name := range consoleFuncs(&consoleState{}, locale.ZH) {
		consoleFuncNames = append(consoleFuncNames, name)
	}
	for _, tc := range []struct {
		name  string
		fsys  fs.FS
		glob  string
		funcs []string
		least int // fewer keys found means the walk misses calls
	}{
		{"console", consoleFiles, "web/console/*.html", consoleFuncNames, 100},
		{"public", publicFS, "web/public/*.html", nil, 15},
		// The coverage page's template, which public_render.go follows.
		{"public coverage", os.DirFS("."), "testdata/public_coverage.html", nil, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := templateKeys(t, tc.fsys, tc.glob, tc.funcs)
			if len(keys) < tc.least {
				t.Fatalf("only %d keys found in the %s templates: the walk misses calls", len(keys), tc.name)
			}
			for key, file := range keys {
				for _, l := range locale.Langs {
					if !l.Has(key) {
						t.Errorf("%s: %s lacks %q", file, l.Tag, key)
					}
				}
			}
		})
	}
}

// templateKeys walks the templates of fsys matching glob with
// text/template/parse and returns the literal keys given to "t" (key ->
// file). funcs names the templates' own functions beside the builtins.
func templateKeys(t *testing.T, fsys fs.FS, glob string, funcs []string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	files, err := fs.Glob(fsys, glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates match %s: %v", glob, err)
	}
	stub := map[string]any{}
	for _, name := range append(strings.Fields("and or not len index slice print printf println eq ne lt le gt ge call html js urlquery t"), funcs...) {
		stub[name] = func() string { return "" }
	}
	for _, f := range files {
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		trees, err := parse.Parse(f, string(body), "{{", "}}", stub)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tree := range trees {
			walkKeys(tree.Root, func(key string) { keys[key] = f })
		}
	}
	return keys
}

// walkKeys calls found with the first argument of every call of "t" that is
// a string literal.
func walkKeys(n parse.Node, found func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				walkKeys(c, found)
			}
		}
	case *parse.ActionNode:
		walkKeys(n.Pipe, found)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkKeys(c, found)
		}
	case *parse.CommandNode:
		if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" && len(n.Args) > 1 {
			if s, ok := n.Args[1].(*parse.StringNode); ok {
				found(s.Text)
			}
		}
		for _, a := range n.Args {
			walkKeys(a, found)
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, found)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, found)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, found)
	case *parse.TemplateNode:
		walkKeys(n.Pipe, found)
	}
}

func walkBranch(n *parse.BranchNode, found func(string)) {
	walkKeys(n.Pipe, found)
	walkKeys(n.List, found)
	walkKeys(n.ElseList, found)
}
