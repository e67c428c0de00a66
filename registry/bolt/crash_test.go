package bolt

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
	"github.com/sanbao/sanbao/registry"
)

// The crash test re-executes the test binary as a child (crashEnv set)
// that writes without pause and prints "ACK ..." once each write has been
// acknowledged. The parent SIGKILLs it at a random moment, reopens the file
// and checks that it is consistent and holds every acknowledged write.
const crashEnv = "SANBAO_REGISTRY_CRASH_CHILD"

func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrashKeepsEveryAcknowledgedWrite")
	}
	round := os.Getenv(crashEnv + "_ROUND")
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Println("OPEN", err)
		os.Exit(1)
	}
	if _, _, err := db.PutModel(admin, policy.Model{SKU: "P1", Name: "Mask", Kind: policy.KindProduct}); err != nil {
		fmt.Println("MODEL", err)
		os.Exit(1)
	}
	var out sync.Mutex
	ack := func(format string, args ...any) {
		out.Lock()
		fmt.Printf("ACK "+format+"\n", args...)
		out.Unlock()
	}
	fmt.Println("READY")
	var wg sync.WaitGroup
	for g := range 8 { // concurrent writers: grouped commits
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				serial := fmt.Sprintf("R%s-%d-%d", round, g, i)
				if i%10 == 5 { // a bulk registration now and then
					rows := make([]registry.Row, 500)
					for j := range rows {
						rows[j] = registry.Row{Serial: fmt.Sprintf("%s-%04d", serial, j), SKU: "P1", Batch: "B" + round}
					}
					if _, err := db.Register(admin, rows); err != nil {
						fmt.Println("ERR", err)
						os.Exit(1)
					}
					ack("REG %s-0000 %s-0499", serial, serial)
				}
				if _, err := db.Register(admin, []registry.Row{{Serial: serial, SKU: "P1", Batch: "B" + round}}); err != nil {
					fmt.Println("ERR", err)
					os.Exit(1)
				}
				ack("REG %s %s", serial, serial)
				w := registry.Write{Actor: desk}
				if i%2 == 1 {
					w = registry.Write{Actor: desk, IdempotencyKey: "k-" + serial, RequestHash: sha256.Sum256([]byte(serial)), Answer: func(registry.Outcome) ([]byte, error) { return []byte("first:" + serial), nil }}
				}
				o, err := db.Append(w, serial, policy.Event{Type: policy.EvTransferred, On: policy.Default().Today(time.Now()), Note: "n-" + serial})
				if err != nil {
					fmt.Println("ERR", err)
					os.Exit(1)
				}
				ack("EV %s %d %s", serial, o.Appended[0].Event.Seq, w.IdempotencyKey)
			}
		}()
	}
	wg.Wait()
}

func TestCrashKeepsEveryAcknowledgedWrite(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("child")
	}
	rounds := 24
	if testing.Short() {
		rounds = 5
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	type event struct {
		serial string
		seq    uint64
		key    string
	}
	var regs [][2]string // first and last serial of each acknowledged registration
	var events []event
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, crashEnv+"_ROUND="+strconv.Itoa(round))
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		cmd.Stderr = os.Stderr
		must(t, cmd.Start())
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || lines.Text() != "READY" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child did not start: %q", round, lines.Text())
		}
		kill := time.AfterFunc(time.Duration(50+rand.IntN(400))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			switch {
			case len(f) >= 4 && f[0] == "ACK" && f[1] == "REG":
				regs = append(regs, [2]string{f[2], f[3]})
			case len(f) >= 4 && f[0] == "ACK" && f[1] == "EV":
				seq, _ := strconv.ParseUint(f[3], 10, 64)
				ev := event{serial: f[2], seq: seq}
				if len(f) == 5 {
					ev.key = f[4]
				}
				events = append(events, ev)
			case len(f) > 0 && (f[0] == "ERR" || f[0] == "OPEN" || f[0] == "MODEL"):
				t.Errorf("round %d: child failed: %s", round, lines.Text())
			}
		}
		kill.Stop()
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		db, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: the file does not open after a crash: %v", round, err)
		}
		if err := db.Check(); err != nil {
			db.Close()
			t.Fatalf("round %d: inconsistent after a crash: %v", round, err)
		}
		for _, r := range regs {
			for _, s := range []string{r[0], r[1]} {
				if _, err := db.Get(s); err != nil {
					t.Fatalf("round %d: acknowledged registration of %s lost: %v", round, s, err)
				}
			}
		}
		for _, ev := range events {
			rec, err := db.Get(ev.serial)
			if err != nil || len(rec.History) < int(ev.seq) || rec.History[ev.seq-1].Note != "n-"+ev.serial {
				t.Fatalf("round %d: acknowledged event %s #%d lost (%v)", round, ev.serial, ev.seq, err)
			}
			if ev.key != "" && round == rounds-1 {
				// The key was stored with the event: a retry replays.
				o, err := db.Append(registry.Write{Actor: desk, IdempotencyKey: ev.key, RequestHash: sha256.Sum256([]byte(ev.serial)), Answer: answer},
					ev.serial, policy.Event{Type: policy.EvTransferred, On: policy.Default().Today(time.Now()), Note: "n-" + ev.serial})
				if err != nil || string(o.Replay) != "first:"+ev.serial {
					t.Fatalf("round %d: retry of key %s = %+v, %v; want the stored answer", round, ev.key, o, err)
				}
			}
		}
		must(t, db.Close())
	}
	if len(events) < rounds {
		t.Fatalf("only %d acknowledged events in %d rounds: the child barely ran", len(events), rounds)
	}
	t.Logf("%d rounds, %d registrations and %d events acknowledged, all present", rounds, len(regs), len(events))
}
