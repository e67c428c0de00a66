package server

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/server/locale"
)

// keyedUse is one call of Error.Keyed found in the source: its key and the
// names of its args.
type keyedUse struct {
	key  string
	args []string
	at   string
}

// keyedUses reads every .Keyed(key, Args{...}) call in the packages whose
// errors reach a page (policy, registry and its PostgreSQL store, server),
// so that no key can be added without its sentences. A call whose key is
// not a string literal, or whose args are not a literal (or nil), is an
// error: the check could not see it.
func keyedUses(t *testing.T) []keyedUse {
	t.Helper()
	var uses []keyedUse
	fset := gotoken.NewFileSet()
	for _, dir := range []string{"../policy", "../registry", "../registry/bolt", "../registry/postgres", "."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Keyed" || len(call.Args) != 2 {
					return true
				}
				at := fset.Position(call.Pos()).String()
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != gotoken.STRING {
					t.Errorf("%s: Keyed with a key that is not a string literal", at)
					return true
				}
				key, _ := strconv.Unquote(lit.Value)
				u := keyedUse{key: key, at: at}
				switch a := call.Args[1].(type) {
				case *ast.Ident:
					if a.Name != "nil" {
						t.Errorf("%s: Keyed(%q) with args %s, not a literal", at, key, a.Name)
					}
				case *ast.CompositeLit:
					for _, e := range a.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						k, isLit := kv.Key.(*ast.BasicLit)
						if !ok || !isLit {
							t.Errorf("%s: Keyed(%q) args with a name that is not a string literal", at, key)
							continue
						}
						name, _ := strconv.Unquote(k.Value)
						u.args = append(u.args, name)
					}
				default:
					t.Errorf("%s: Keyed(%q) with args that are not a literal", at, key)
				}
				sort.Strings(u.args)
				uses = append(uses, u)
				return true
			})
		}
	}
	return uses
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// placeholders are the {name}s of a sentence, sorted, each once.
func placeholders(msg string) []string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(msg, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

func TestEveryRefusalKeyHasItsSentenceInBothLanguagesWithItsArgs(t *testing.T) {
	uses := keyedUses(t)
	if len(uses) < 100 {
		t.Fatalf("found %d Keyed calls; the scan is broken (over 100 are expected)", len(uses))
	}
	for _, u := range uses {
		for _, l := range locale.Langs {
			k := problemPrefix + u.key
			if !l.Has(k) {
				t.Errorf("%s: %s has no %s", u.at, l.Tag, k)
				continue
			}
			// Every value given has its place, and every place its value:
			// a sentence may not name a value the call does not give.
			if got := placeholders(l.T(k)); !slices.Equal(got, u.args) {
				t.Errorf("%s: %s %s names %v; the call gives %v", u.at, l.Tag, k, got, u.args)
			}
		}
	}
}

func TestEveryRefusalSentenceIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, u := range keyedUses(t) {
		used[problemPrefix+u.key] = true
	}
	for _, k := range locale.ZH.Keys() {
		if strings.HasPrefix(k, problemPrefix) && !strings.HasPrefix(k, problemPrefix+"field.") &&
			!strings.HasPrefix(k, problemPrefix+"type.") && !used[k] {
			t.Errorf("%s is in the catalogue but no refusal uses it", k)
		}
	}
}

// A refusal may name any event type ("record an intake before {type}"):
// each has its words as a thing done in both languages.
func TestEveryEventTypeHasItsWordsInARefusal(t *testing.T) {
	for _, typ := range policy.EventTypes {
		for _, l := range locale.Langs {
			if k := problemPrefix + "type." + string(typ); !l.Has(k) {
				t.Errorf("%s has no %s", l.Tag, k)
			}
		}
	}
}
