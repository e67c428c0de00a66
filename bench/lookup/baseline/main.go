// Command baseline is the floor the lookup benchmark compares sanbao with:
// an echo server whose only route does one bbolt Get in the registry's items
// bucket of the same file and returns the stored bytes. No auth, no
// decoding, no policy, no JSON: whatever sanbao's GET /api/v1/items/{serial}
// costs beyond this is sanbao's own overhead. With --pg it does one pgx
// query by primary key in the items table of a PostgreSQL registry
// instead (the benchmark's PostgreSQL mode): the item's terms (the columns
// no lookup can do without), written out as PostgreSQL sent them (no
// decoding), on a pool of the size the store uses.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	bolt "go.etcd.io/bbolt"
)

// itemsBucket is the registry's bucket of item records (registry/bolt/db.go).
var itemsBucket = []byte("items")

func main() {
	dbPath := flag.String("db", "", "sanbao database file (opened read-only)")
	pg := flag.String("pg", "", "PostgreSQL `URL` of a sanbao registry, instead of --db")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	page := flag.String("page", "", "`FILE` holding one of sanbao's coverage answers as curl -i saves it: also answer GET /c/:serial with it, headers and all")
	flag.Parse()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if *page != "" {
		pageRoute(e, *page)
	}
	switch {
	case *pg != "":
		pool := pgPool(*pg)
		defer pool.Close()
		e.GET("/api/v1/items/:serial", func(c echo.Context) error {
			// The least a lookup must do on PostgreSQL: one round trip for
			// the item by primary key, reading the item's terms (a lookup
			// needs them all, as the bbolt floor returns the whole stored
			// record), not decoded, like the bbolt floor.
			rows, err := pool.Query(c.Request().Context(), floorSQL, c.Param("serial"))
			if err != nil {
				return err
			}
			var v []byte
			for rows.Next() {
				for _, col := range rows.RawValues() {
					v = append(v, col...)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if v == nil {
				return c.NoContent(http.StatusNotFound)
			}
			return c.Blob(http.StatusOK, "application/octet-stream", v)
		})
	case *dbPath != "":
		db := boltRoute(e, *dbPath)
		defer db.Close()
	default:
		log.Fatal("baseline: --db or --pg is required")
	}
	serve(e, *addr)
}

// floorSQL reads an item's terms, the columns of policy.Item (registry/postgres
// reads them and the history and scan counts; the derived columns it
// does not need for a lookup).
const floorSQL = `SELECT serial, sku, kind, warranty_months, batch, produced_on, accessories, registered_at,
	replaces, exchanged_on, exchanges FROM items WHERE serial = $1`

// storeMaxConns is registry/postgres's pool size unless the URL sets
// pool_max_conns (defaultMaxConns there): the floor queries through as
// many connections as sanbao does, since on a small machine the pool's
// size alone moves the throughput (pgxpool's own default is the CPU count,
// at least 4).
const storeMaxConns = 16

// pgPool connects to url with the store's pool size.
func pgPool(url string) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		log.Fatalf("baseline: %v", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = storeMaxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		log.Fatalf("baseline: %v", err)
	}
	return pool
}

// boltRoute serves the floor route from the bbolt file at path.
func boltRoute(e *echo.Echo, path string) *bolt.DB {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second, InitialMmapSize: 1 << 30})
	if err != nil {
		log.Fatalf("baseline: %v", err)
	}
	e.GET("/api/v1/items/:serial", func(c echo.Context) error {
		var v []byte
		err := db.View(func(tx *bolt.Tx) error {
			v = bytes.Clone(tx.Bucket(itemsBucket).Get([]byte(c.Param("serial"))))
			return nil
		})
		if err != nil {
			return err
		}
		if v == nil {
			return c.NoContent(http.StatusNotFound)
		}
		return c.Blob(http.StatusOK, "application/octet-stream", v)
	})
	return db
}

// pageRoute answers GET /c/:serial with the answer saved in file (a status
// line, headers, a blank line, the body; Date and Content-Length are
// written anew): the ceiling of the public page benchmark, what any page of
// the same bytes and headers costs with nothing read, checked or rendered.
func pageRoute(e *echo.Echo, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		log.Fatalf("baseline: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		log.Fatalf("baseline: %s: %v", file, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatalf("baseline: %s: %v", file, err)
	}
	res.Header.Del("Date")
	res.Header.Del("Content-Length")
	e.GET("/c/:serial", func(c echo.Context) error {
		h := c.Response().Header()
		for k, v := range res.Header {
			h[k] = v
		}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		c.Response().WriteHeader(res.StatusCode)
		_, err := c.Response().Write(body)
		return err
	})
}

func serve(e *echo.Echo, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("baseline: %v", err)
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatalf("baseline: %v", err)
	}
}
