package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/server/locale"
)

// What a Chinese clerk reads when a rule refuses what they did at the
// console: the refusal in Chinese with its values (serials, dates in
// Chinese form, rows, counts), written out as the clerk sees it. Today is
// 2026-11-10 (testNow).
func TestChineseClerkReadsRefusalsInChineseWithTheirValues(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1", "S2")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-03"}), http.StatusCreated)

	warehouse, service := e.browser(), e.browser()
	for _, b := range []*browser{warehouse, service} {
		b.lang = "zh-CN"
	}
	warehouse.mustSignIn(e.warehouse)
	service.mustSignIn(e.service)

	for _, tc := range []struct {
		name   string
		do     func() pageRes
		status int
		want   string
	}{
		{"a second dispatch names the day of the first", func() pageRes {
			return warehouse.post("/console/dispatch", url.Values{"serials": {"S1"}, "on": {"2026-11-05"}})
		}, 422, "S1 已于 2026年11月3日 出库，不能重复出库（登记有误请用更正）。"},
		{"a batch of refused rows counts them", func() pageRes {
			return warehouse.post("/console/dispatch", url.Values{"serials": {"S1\nS2"}, "on": {"2026-11-05"}})
		}, 422, "有 1 行未通过，整批都没有写入。"},
		{"a serial twice in an uploaded batch names the other row", func() pageRes {
			return warehouse.upload("serial,sku,batch\nS5,M1,B2\nS5,M1,B2\n", "utf-8")
		}, 422, "序列号 S5 在这批里重复了（第 1 行也有）。"},
		{"a day the calendar lacks says how long the month is", func() pageRes {
			return warehouse.upload("serial,sku,batch,produced_on\nS6,M1,B2,2026-02-30\n", "utf-8")
		}, 422, "生产日期“2026-02-30”不存在：2026年2月只有 28 天。"},
		{"a date that is not one names the field", func() pageRes {
			return service.post("/console/items/S2/events", url.Values{"type": {"received"}, "on": {"2026-13-01"}, "evidence": {"courier"}})
		}, 422, "日期“2026-13-01”不存在：没有 13 月。"},
		{"a date in the future names today", func() pageRes {
			return service.post("/console/items/S2/events", url.Values{"type": {"received"}, "on": {"2026-12-01"}, "evidence": {"courier"}})
		}, 422, "日期 2026年12月1日 在今天（2026年11月10日）之后：不能填将来的日期。"},
		{"an unknown serial is named", func() pageRes { return service.get("/console/items/NOPE") },
			404, "系统里没有序列号 NOPE，请核对后重新扫码。"},
		{"entitlements without a diagnosis ask for the finding", func() pageRes {
			return service.get("/console/items/S2/entitlements?on=2026-11-10")
		}, 422, "这台机器还没有检测结论：请选择检测结论。"},
		{"a service step needs an open case", func() pageRes {
			return service.post("/console/items/S2/events", url.Values{"type": {"shipped"}})
		}, 409, "S2 没有进行中的售后单：请先登记受理，再登记“寄回”。"},
		{"the wrong role is named with the event", func() pageRes {
			return service.post("/console/items/S2/events", url.Values{"type": {"corrected"}, "reason": {"x"}})
		}, 403, "售后服务账号不能登记“更正”。"},
		{"a replacement must be registered", func() pageRes {
			must(t, e.event("S2", e.service, map[string]any{"type": "intake", "center": "SH-1"}), http.StatusCreated)
			must(t, e.event("S2", e.service, map[string]any{"type": "diagnosed", "finding": "quality_problem"}), http.StatusCreated)
			return service.post("/console/items/S2/events", url.Values{"type": {"replaced"}, "new_serial": {"S9"}})
		}, 422, "新机 S9 还没有登记：请先登记这台新机。"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.do()
			wantPage(t, p, tc.status, tc.want)
			if strings.Contains(p.Body, "problem.") {
				t.Errorf("the page shows a raw key: %s", p)
			}
		})
	}
}

// The API keeps its English message for the same refusal the console words
// in Chinese: the key is a page's, never the JSON's.
func TestTheAPIKeepsItsEnglishMessageForAKeyedRefusal(t *testing.T) {
	e := newEnv(t)
	e.seedModels()
	e.register("B1", "S1")
	must(t, e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-03"}), http.StatusCreated)
	r := e.event("S1", e.warehouse, map[string]any{"type": "dispatched", "on": "2026-11-05"})
	detail := wantError(t, r, http.StatusConflict, policy.EConflict, "on")
	if got, want := detail["message"], "S1 was already dispatched on 2026-11-03: a second dispatch is not allowed (fix a mistake with corrected)"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	for _, k := range []string{"key", "Key", "args", "Args"} {
		if _, ok := detail[k]; ok {
			t.Errorf("the API error carries %q: %v", k, detail)
		}
	}
}

// How values read inside a refusal: dates and instants in the page's
// form, fields and codes in words, a refusal inside another as a clause.
func TestRefusalValuesReadAsThePageWritesThem(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	day := policy.Date{Year: 2026, Month: 11, Day: 2}
	inner := policy.Errorf(policy.EConflict, "on", "S1 was already dispatched on 2026-11-02").
		Keyed("event.already_dispatched", policy.Args{"serial": "S1", "on": day})
	for _, tc := range []struct {
		name string
		l    *locale.Lang
		err  *policy.Error
		want string
	}{
		{"a Chinese date", locale.ZH, inner, "S1 已于 2026年11月2日 出库，不能重复出库（登记有误请用更正）。"},
		{"an English page keeps the console's ISO date", locale.EN, inner,
			"S1 was already dispatched on 2026-11-02: a second dispatch is not allowed (fix a mistake with a correction)."},
		{"a field in words", locale.ZH, policy.Errorf(policy.EInvalid, "on", "on is required").
			Keyed("field.required", policy.Args{"field": policy.Field("produced_on")}), "请填写生产日期。"},
		{"an English sentence opening with a field starts with a capital", locale.EN, policy.Errorf(policy.EInvalid, "name", "name is required").
			Keyed("field.required", policy.Args{"field": policy.Field("name")}), "Name is required."},
		{"an instant in Chinese", locale.ZH, policy.Errorf(policy.EInvalid, "at", "x").
			Keyed("event.at_future", policy.Args{"at": time.Date(2026, 11, 10, 15, 30, 0, 0, cst), "now": time.Date(2026, 11, 10, 14, 5, 0, 0, cst)}),
			"时间 2026年11月10日 15:30 在现在（2026年11月10日 14:05）之后。"},
		{"a nested refusal is a clause", locale.ZH, policy.Errorf(policy.EConflict, "on", "x").
			Keyed("correction.breaks", policy.Args{"seq": uint64(3), "problem": inner}),
			"更正第 3 条记录后，记录前后矛盾：S1 已于 2026年11月2日 出库，不能重复出库（登记有误请用更正）。"},
		{"a refusal without a key keeps its message", locale.ZH, policy.Errorf(policy.EConflict, "", "odd thing"), "odd thing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := problem(tc.l, tc.err); got != tc.want {
				t.Errorf("problem = %q\n           want %q", got, tc.want)
			}
		})
	}
}
