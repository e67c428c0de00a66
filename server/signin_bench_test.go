package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sanbao/sanbao/registry"
)

// BenchmarkSignInFlood measures what a flood of wrong passwords for one
// username from one address costs, against one successful sign-in in the
// same run: the back-off refuses before hashing, so 1,000 wrong sign-ins
// cost a few argon2id hashes (the free failures), not 1,000.
//
//	go test -run '^$' -bench SignInFlood -benchtime 1x ./server/
//
// flood/ok_ratio is the CPU time of the 1,000 wrong sign-ins over that of
// one good one (a good one is one hash plus a session write).
func BenchmarkSignInFlood(b *testing.B) {
	e := newEnv(b)
	if _, err := e.db.CreateUser(registry.Actor{Name: "bench"}, registry.User{Username: "li", Role: registry.RoleService}, "correct horse"); err != nil {
		b.Fatal(err)
	}
	h := e.srv.Handler()
	signIn := func(password string) int {
		// The sign-in form's token is tied to its cookie; both are made up
		// here as a browser holding the form would send them.
		tok := token()
		form := url.Values{"csrf": {tok}, "username": {"li"}, "password": {password}}
		r := httptest.NewRequest("POST", "/console/sign-in", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: signInCookie, Value: tok})
		r.RemoteAddr = "192.0.2.7:5555"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for b.Loop() {
		e.srv.console.signIns = newBackoff(e.clock.Now) // every round starts unlocked
		ok := cpuTime(func() {
			if code := signIn("correct horse"); code != http.StatusSeeOther {
				b.Fatalf("good sign-in: %d", code)
			}
		})
		flood := cpuTime(func() {
			for range 1000 {
				if code := signIn("wrong horse!"); code != http.StatusUnauthorized {
					b.Fatalf("wrong sign-in: %d", code)
				}
			}
		})
		b.ReportMetric(float64(flood)/float64(ok), "flood/ok_ratio")
		b.ReportMetric(float64(flood.Microseconds())/1000, "flood_cpu_µs/signin")
		b.ReportMetric(float64(ok.Microseconds()), "ok_cpu_µs")
	}
}

// cpuTime is the process's user and system CPU time spent running f.
func cpuTime(f func()) time.Duration {
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	f()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	return time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
}
