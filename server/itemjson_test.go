package server

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// plainItemView is itemView without its MarshalJSON: encoding/json writes
// it from the tags, the reference the hand-written encoder must match.
type plainItemView itemView

// wantItemJSON is what encoding/json writes for v.
func wantItemJSON(t *testing.T, v itemView) []byte {
	t.Helper()
	b, err := json.Marshal(plainItemView(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Awkward strings: every escape encoding/json makes, text beyond ASCII,
// invalid UTF-8.
var awkward = []string{"", "S1", "plain text", "a<b", "a>b", "a&b", `a"b`, `a\b`, "a\nb", "a\x00b", "a\x1fb", "a\x7fb",
	"a\tb\rc\bd\fe", "口罩 维修中心 上海", "😷 mask", "a\u2028b", "a\u2029b", "a\xffb", "cut \xe5\x8f", "中<x>\xc3"}

// randomView fills v (an itemView or a part of one) from r: strings from
// awkward, nil or empty or full lists and pointers, zero and odd dates and
// instants in several zones.
func randomView(r *rand.Rand, v reflect.Value) {
	zones := []*time.Location{time.UTC, cst, time.FixedZone("", -(3*3600 + 30*60)), time.FixedZone("X", 5*3600+45*60)}
	switch v.Type() {
	case reflect.TypeOf(stamp{}):
		if r.IntN(4) > 0 {
			t := time.Date(1990+r.IntN(50), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(3)*r.IntN(1e9), zones[r.IntN(len(zones))])
			v.Set(reflect.ValueOf(stamp{t}))
		}
		return
	case reflect.TypeOf(policy.Date{}):
		if r.IntN(4) > 0 {
			years := []int{1, 999, 2026, 9999, 10000}
			v.Set(reflect.ValueOf(policy.Date{Year: years[r.IntN(len(years))], Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(31)}))
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(awkward[r.IntN(len(awkward))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int:
		v.SetInt(r.Int64N(2000) - 1000)
	case reflect.Uint64:
		v.SetUint(r.Uint64() >> r.IntN(64))
	case reflect.Pointer:
		if r.IntN(3) > 0 {
			p := reflect.New(v.Type().Elem())
			randomView(r, p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		if n := r.IntN(5) - 1; n >= 0 {
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				randomView(r, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			randomView(r, v.Field(i))
		}
	default:
		panic("randomView: unhandled " + v.Type().String())
	}
}

func TestItemJSONIsEncodingJSONs(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	for i := range 3000 {
		var v itemView
		randomView(r, reflect.ValueOf(&v).Elem())
		want := wantItemJSON(t, v)
		if got := v.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("view %d:\n got %s\nwant %s", i, got, want)
		}
		// Inside another answer, and indented (?pretty), it is encoding/json's too.
		got, err := json.MarshalIndent(struct{ Item itemView }{v}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := json.MarshalIndent(struct{ Item plainItemView }{plainItemView(v)}, "", "  "); !bytes.Equal(got, want) {
			t.Fatalf("view %d indented:\n got %s\nwant %s", i, got, want)
		}
	}
}

// The item answer of a real history: the same bytes as encoding/json
// gives for the view, with its newline, and indented on ?pretty.
func TestItemAnswerIsEncodingJSONs(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	serviceHistory(t, e)
	must(t, e.event("S2", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-02", "order": "O2"}), http.StatusCreated)
	must(t, e.event("S2", e.service, map[string]any{"type": "intake", "at": "2026-11-09T11:00:00+08:00", "center": "SH",
		"complaint": "风扇 <噪音> & \"咔哒\" \\ 😷"}), http.StatusCreated)
	e.db.Scan("S1", testNow)
	for _, serial := range []string{"S1", "S2"} {
		rec, err := e.db.Get(serial)
		if err != nil {
			t.Fatal(err)
		}
		want := append(wantItemJSON(t, e.srv.itemView(rec, e.srv.today(), e.clock.Now())), '\n')
		res := must(t, e.get("/api/v1/items/"+serial, e.service), http.StatusOK)
		if !bytes.Equal(res.Body, want) || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %s\n%s\nwant\n%s", serial, res.Header.Get("Content-Type"), res.Body, want)
		}
		var indented bytes.Buffer
		enc := json.NewEncoder(&indented)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plainItemView(e.srv.itemView(rec, e.srv.today(), e.clock.Now()))); err != nil {
			t.Fatal(err)
		}
		res = must(t, e.get("/api/v1/items/"+serial+"?pretty", e.service), http.StatusOK)
		if !bytes.Equal(res.Body, indented.Bytes()) {
			t.Errorf("%s?pretty:\n%s\nwant\n%s", serial, res.Body, indented.Bytes())
		}
	}
}

// TestEveryByteIsWrittenAsEncodingJSONWritesIt: each byte value, alone and
// between plain text, comes out exactly as encoding/json writes it.
func TestEveryByteIsWrittenAsEncodingJSONWritesIt(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "ab" + string([]byte{byte(c)}) + "cd"} {
			want, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
				t.Errorf("byte %#x in %q: got %s, want %s", c, s, got, want)
			}
		}
	}
}
