package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyReplacesOneWholeLineKeepingItsIndentation(t *testing.T) {
	src := "func f() {\n\tif a <= b {\n\t\treturn\n\t}\n}\n"
	for _, tc := range []struct {
		name  string
		edits [][2]string
		want  string
		err   string
	}{
		{"one line", [][2]string{{"if a <= b {", "if a < b {"}}, "func f() {\n\tif a < b {\n\t\treturn\n\t}\n}\n", ""},
		{"two lines", [][2]string{{"if a <= b {", "if true {"}, {"return", "panic(1)"}}, "func f() {\n\tif true {\n\t\tpanic(1)\n\t}\n}\n", ""},
		{"a part of a line is no line", [][2]string{{"a <= b", "a < b"}}, "", "not found"},
		{"a line twice is ambiguous", [][2]string{{"}", "]"}}, "", "more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := apply([]byte(src), tc.edits)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseRefusesIncompleteMutations(t *testing.T) {
	for _, tc := range []struct{ name, list, err string }{
		{"no pkg", "name: x\nfile: f.go\nold: a\nnew: b\n", "needs name, file and pkg"},
		{"old without new", "name: x\nfile: f.go\npkg: ./p\nold: a\n", "pairs"},
		{"new without old", "name: x\nfile: f.go\npkg: ./p\nnew: b\n", "new without old"},
		{"unknown key", "name: x\nfiel: f.go\n", "unknown key"},
	} {
		if _, err := parse(strings.NewReader(tc.list), "list"); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
	ms, err := parse(strings.NewReader("# c\nname: x\nfile: f.go\npkg: ./p\nold: a\nnew: b\nmust: yes\n\nname: y\nfile: g.go\npkg: ./q\nflags: -race\nold: c\nnew: d\n"), "list")
	if err != nil || len(ms) != 2 || !ms[0].must || ms[1].must || ms[0].flags[0] != "-short" || ms[1].flags[0] != "-race" {
		t.Fatalf("parsed %+v, %v", ms, err)
	}
}

// TestTheListStillAppliesToTheCode: every mutation of the list names a
// package and a file that exist and lines that occur once, so a change to
// the code that moves a line shows here rather than as an ERROR in a run.
func TestTheListStillAppliesToTheCode(t *testing.T) {
	root := filepath.Join("..", "..")
	ms, err := parseFile("mutations.txt")
	if err != nil {
		t.Fatal(err)
	}
	must := 0
	for _, m := range ms {
		src, err := os.ReadFile(filepath.Join(root, m.file))
		if err != nil {
			t.Errorf("%s: %v", m.name, err)
			continue
		}
		if _, err := apply(src, m.edits); err != nil {
			t.Errorf("%s: %s: %v", m.name, m.file, err)
		}
		if st, err := os.Stat(filepath.Join(root, m.pkg)); err != nil || !st.IsDir() {
			t.Errorf("%s: package %s: %v", m.name, m.pkg, err)
		}
		if m.must {
			must++
		}
	}
	if must < 13 || len(ms) < 24 {
		t.Errorf("%d mutations, %d of them must-kill; want at least issue 22's 13 must-kill and 24 in all", len(ms), must)
	}
}
