package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	bolt "go.etcd.io/bbolt"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// Benchmarks of the item lookup, GET /api/v1/items/{serial}, in process
// (bench/lookup/run.sh measures it over loopback against a bare bbolt Get):
//
//	go test -run '^$' -bench 'GetItem|ItemView' -benchmem ./server/

// benchItems registers n serials "BI00000".. and gives every one of the
// first `withHistory` a service history of 9 events. The server logs at
// Info, as serve does by default, into io.Discard.
func benchItems(b *testing.B, n, withHistory int) (*env, []string) {
	e := newEnv(b, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	if _, _, err := e.db.PutModel(registry.Actor{Name: "bench"}, policy.Model{SKU: "BM-1", Name: "Bench mask", Kind: policy.KindProduct}); err != nil {
		b.Fatal(err)
	}
	serials := make([]string, n)
	rows := make([]registry.Row, n)
	for i := range rows {
		serials[i] = fmt.Sprintf("BI%05d", i)
		rows[i] = registry.Row{Serial: serials[i], SKU: "BM-1", Batch: fmt.Sprintf("B%03d", i/100), ProducedOn: policy.Date{Year: 2026, Month: 1, Day: 1 + i%28}}
	}
	if _, err := e.db.Register(registry.Actor{Name: "bench"}, rows); err != nil {
		b.Fatal(err)
	}
	at := func(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, cst) }
	for _, s := range serials[:withHistory] {
		for _, ev := range []policy.Event{
			{Type: policy.EvDispatched, On: policy.Date{Year: 2026, Month: 9, Day: 1}, Order: "SO-" + s},
			{Type: policy.EvReceived, On: policy.Date{Year: 2026, Month: 9, Day: 3}, Evidence: policy.Courier},
			{Type: policy.EvIntake, At: at(5, 9), Center: "SH-01", Complaint: "no power", Contact: "138 0000 0000"},
			{Type: policy.EvDiagnosed, At: at(5, 10), Finding: policy.QualityProblem, Part: "battery"},
			{Type: policy.EvRepaired, At: at(5, 12), Parts: []string{"battery"}},
			{Type: policy.EvShipped, At: at(5, 15), Tracking: "SF123456789"},
			{Type: policy.EvIntake, At: at(18, 9), Center: "SH-02", Complaint: "fan noise <loud> & \"rattling\""},
			{Type: policy.EvDiagnosed, At: at(18, 10), Finding: policy.QualityProblem, Part: "fan", Note: "bearing worn"},
			{Type: policy.EvPaused, At: at(18, 11), Reason: "waiting for the customer"},
		} {
			if _, err := e.db.Append(registry.Write{Actor: registry.Actor{Name: "bench"}}, s, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e, serials
}

// BenchmarkGetItem serves GET /api/v1/items/{serial} through the whole
// handler (middleware, key check, lookup, policy, JSON, log line, metrics)
// without the network: a freshly registered item (what bench/lookup asks
// for) and one with a 9-event history and an open case. "floor" is
// bench/lookup's baseline in process: a bare echo route doing one bbolt Get
// on a copy of the same file.
func BenchmarkGetItem(b *testing.B) {
	for _, bc := range []struct {
		name    string
		history int
	}{{"floor", 0}, {"registered", 0}, {"history", 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			e, serials := benchItems(b, 1000, bc.history)
			h := e.srv.Handler()
			if bc.name == "floor" {
				h = floorHandler(b, e)
			}
			reqs := make([]*http.Request, len(serials))
			for i, s := range serials {
				reqs[i] = httptest.NewRequest(http.MethodGet, "/api/v1/items/"+s, nil)
				reqs[i].Header.Set("Authorization", "Bearer "+e.service)
				reqs[i].RemoteAddr = "127.0.0.1:40000"
			}
			serveLoop(b, h, reqs)
		})
	}
}

// BenchmarkItemView evaluates and renders an item's view (policy.Coverage,
// the open case, JSON) from a record already read.
func BenchmarkItemView(b *testing.B) {
	for _, bc := range []struct {
		name    string
		history int
	}{{"registered", 0}, {"history", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			e, serials := benchItems(b, 1, bc.history)
			rec, err := e.db.Get(serials[0])
			if err != nil {
				b.Fatal(err)
			}
			s, now := e.srv, e.clock.Now()
			on := s.policy.Today(now)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				v := s.itemView(rec, on, now)
				buf = v.appendJSON(buf[:0])
			}
		})
	}
}

// floorHandler is bench/lookup/baseline's route over a snapshot of e's file.
func floorHandler(b *testing.B, e *env) http.Handler {
	path := filepath.Join(b.TempDir(), "floor.db")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.Backup(f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	h := echo.New()
	h.GET("/api/v1/items/:serial", func(c echo.Context) error {
		var v []byte
		err := db.View(func(tx *bolt.Tx) error {
			v = bytes.Clone(tx.Bucket([]byte("items")).Get([]byte(c.Param("serial"))))
			return nil
		})
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "application/octet-stream", v)
	})
	return h
}

// serveLoop times h answering reqs in turn, each of which must succeed.
func serveLoop(b *testing.B, h http.Handler, reqs []*http.Request) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		i++
	}
}

// BenchmarkPublicPage serves the customer's coverage page, GET
// /c/{serial}?k= in Chinese (code check, lookup, policy, check count,
// template), against the same in-process floor as BenchmarkGetItem.
func BenchmarkPublicPage(b *testing.B) {
	for _, name := range []string{"floor", "page"} {
		b.Run(name, func(b *testing.B) {
			e, serials := benchItems(b, 1000, 0)
			e.srv.cfg.PublicRate = -1
			e.srv.limiter = nil
			h := e.srv.Handler()
			reqs := make([]*http.Request, len(serials))
			for i, s := range serials {
				reqs[i] = httptest.NewRequest(http.MethodGet, "/c/"+s+"?k="+e.checkCode(s), nil)
				reqs[i].Header.Set("Accept-Language", "zh-CN")
				reqs[i].RemoteAddr = "127.0.0.1:40000"
			}
			if name == "floor" {
				h = floorHandler(b, e)
				for i, s := range serials {
					reqs[i] = httptest.NewRequest(http.MethodGet, "/api/v1/items/"+s, nil)
				}
			}
			serveLoop(b, h, reqs)
		})
	}
}
