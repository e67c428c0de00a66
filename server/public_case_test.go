package server

import (
	"net/http"
	"testing"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// seedInRepair registers serial of M1, received by courier on 5 October
// 2026 and in repair since 9 November 11:00, diagnosed a quality problem at
// 15:30 (due back 24 hours after intake).
func (e *env) seedInRepair(serial string) {
	e.t.Helper()
	if _, err := e.db.Register(testActor, []registry.Row{{Serial: serial, SKU: "M1", Batch: "B9"}}); err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range []policy.Event{
		{Type: policy.EvReceived, On: mustDate("2026-10-05"), Evidence: policy.Courier},
		{Type: policy.EvIntake, At: cstAt("2026-11-09", "11:00"), Center: "SH-1", Complaint: "no power"},
		{Type: policy.EvDiagnosed, At: cstAt("2026-11-09", "15:30"), Finding: policy.QualityProblem},
	} {
		if _, err := e.db.Append(registry.Write{Actor: testActor}, serial, ev); err != nil {
			e.t.Fatal(err)
		}
	}
}

// A unit in repair: the page and the JSON give the case's stage, since when
// and its due time, and say that repair days extend the warranty.
func TestPublicPageShowsTheRepairInProgress(t *testing.T) {
	e := newPublicEnv(t) // now: 2026-11-10 10:00 in Beijing
	e.seedInRepair("S-REP")
	code := e.checkCode("S-REP")
	m := must(t, e.publicJSON("S-REP", code), http.StatusOK).JSON(t)
	c, _ := m["case"].(map[string]any)
	for k, want := range map[string]any{"stage": "diagnosed", "since": "2026-11-09T15:30:00+08:00", "due_at": "2026-11-10T11:00:00+08:00", "overdue": false} {
		if c[k] != want {
			t.Errorf("case %s = %v, want %v", k, c[k], want)
		}
	}
	zh := must(t, e.publicPage("/c/S-REP?k="+code, "zh-CN"), http.StatusOK)
	wantInBody(t, zh, "<h1>维修中</h1>", "维修进度", "已检测完毕，待处理", "2026年11月9日 15:30（北京时间）起",
		"承诺 2026年11月10日 11:00（北京时间） 前处理完毕", "保修期内免费维修的天数顺延保修期。")
	en := must(t, e.publicPage("/c/S-REP?k="+code, "en"), http.StatusOK)
	wantInBody(t, en, "<h1>In repair</h1>", "Checked: next step pending", "Due back by 10 Nov 2026, 11:00 (Beijing time)")

	e.clock.Add(2 * 3600e9) // 12:00, an hour past due
	m = must(t, e.publicJSON("S-REP", code), http.StatusOK).JSON(t)
	if c, _ := m["case"].(map[string]any); c["overdue"] != true {
		t.Errorf("an hour past due: overdue %v", c["overdue"])
	}
	wantInBody(t, must(t, e.publicPage("/c/S-REP?k="+code, "zh-CN"), http.StatusOK), "现已超时，请拨打客服电话催办")
	// No open case: null.
	if m := must(t, e.publicJSON("S-ACT", e.checkCode("S-ACT")), http.StatusOK).JSON(t); m["case"] != nil {
		t.Errorf("S-ACT case %v, want null", m["case"])
	}
}
