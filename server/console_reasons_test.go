package server

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/server/locale"
)

// TestEveryReasonHasWordsInBothLanguages: each kind of reason the policy
// can give has a sentence in every language, and the sentence puts in every
// value the reason names (its dates above all) and no placeholder it lacks,
// which would be shown as itself.
func TestEveryReasonHasWordsInBothLanguages(t *testing.T) {
	kinds := policy.ReasonKinds()
	if len(kinds) < 28 {
		t.Fatalf("only %d kinds of reason", len(kinds))
	}
	ph := regexp.MustCompile(`\{[a-z][0-9]+\}`)
	for _, k := range kinds {
		var want []string
		for _, sort := range []struct {
			c byte
			n int
		}{{'d', k.Dates}, {'n', k.Nums}, {'w', k.Words}, {'t', k.Terms}} {
			for i := 1; i <= sort.n; i++ {
				want = append(want, "{"+string(sort.c)+strconv.Itoa(i)+"}")
			}
		}
		for _, l := range locale.Langs {
			key := "console.reason." + k.Code
			if !l.Has(key) {
				t.Errorf("%s lacks %q", l.Tag, key)
				continue
			}
			got := ph.FindAllString(l.T(key), -1)
			slices.Sort(got)
			got = slices.Compact(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %q puts in %v; the reason names %v", l.Tag, key, got, want)
			}
		}
	}
}

func TestReasonsAreWordedInThePagesLanguage(t *testing.T) {
	ret := policy.Reason{Code: "return", Dates: []policy.Date{date(t, "2026-11-05"), date(t, "2026-11-12")}, Nums: []int{5, 7}}
	notIntact := policy.Reason{Code: "no_return_dispatch", Dates: []policy.Date{date(t, "2026-11-05"), date(t, "2026-11-12")}, Nums: []int{2, 7}, Terms: []string{"not_intact"}}
	acc := policy.Reason{Code: "accessory_replace", Dates: []policy.Date{date(t, "2027-11-05")}, Words: []string{"CHG-1", "CB2411"}, Terms: []string{"adapter"}}
	excluded := policy.Reason{Code: "excluded", Nums: []int{7}, Terms: []string{"human_damage"}}
	for _, tc := range []struct {
		l    *locale.Lang
		r    policy.Reason
		want string
	}{
		{locale.ZH, ret, "签收后第 5 天（2026-11-05 签收，7 天退货期截至 2026-11-12），外观完好、附件齐全：可退货"},
		{locale.EN, ret, "day 5 of 7 after receipt on 2026-11-05 (return window until 2026-11-12), intact and complete: return allowed"},
		{locale.ZH, notIntact, "直发客户后第 2 天（2026-11-05 发货，尚无签收记录，按发货日算；7 天退货期截至 2026-11-12），但外观不完好：不能退货"},
		{locale.EN, notIntact, "day 2 of 7 after the direct dispatch on 2026-11-05 (return window until 2026-11-12), but not intact: no return"},
		{locale.ZH, acc, "随机适配器 CHG-1（批次 CB2411）保修期内（至 2027-11-05）出现性能故障：免费换新"},
		{locale.EN, acc, "bundled adapter CHG-1 (batch CB2411) has a quality problem within its warranty (until 2027-11-05): free replacement"},
		{locale.ZH, excluded, "检测结论为人为损坏，不属于三包范围：没有免费处理，7 天退货也不适用"},
		{locale.EN, excluded, "finding human damage is an exclusion: no free remedy, not even the 7-day return"},
	} {
		if got := reasonText(tc.l, tc.r); got != tc.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.l.Tag, tc.r.Code, got, tc.want)
		}
	}
}

// The desk's entitlements, worked out when the item opens and when asked,
// read in Chinese on a Chinese page.
func TestTheDeskGivesReasonsInChinese(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.service, map[string]any{"type": "received", "on": "2026-11-05", "evidence": "courier"}), http.StatusCreated)
	b := e.browser()
	b.lang = "zh-CN"
	b.mustSignIn(e.service)
	wantPage(t, b.get("/console/items/S1"), http.StatusOK,
		"签收后第 5 天（2026-11-05 签收，7 天退货期截至 2026-11-12），外观完好、附件齐全：可退货",
		"签收后第 5 天（2026-11-05 签收，15 天换货期截至 2026-11-20），性能故障：可换货或免费维修")
	p := b.get("/console/items/S1/entitlements?finding=quality_problem&accessory=CHG-1")
	wantPage(t, p, http.StatusOK, "随机适配器 CHG-1（批次 CB2411）保修期内（至 2027-11-05）出现性能故障：免费换新")
	if m := regexp.MustCompile(`after receipt|free repair|no free remedy`).FindString(p.Body); m != "" {
		t.Errorf("the Chinese page shows English reasons: %q", m)
	}
}

func date(t *testing.T, s string) policy.Date {
	t.Helper()
	d, err := policy.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
