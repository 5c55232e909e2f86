package replica

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	kstore "strata/kernel/store"
)

// handElector is an election driven by the test: it elects, loses and names leaders on command.
type handElector struct {
	mu      sync.Mutex
	leader  string
	changed chan struct{}
	elected chan struct{}
	lost    chan struct{}
	end     chan error // Run returns what is sent here
}

func newHandElector() *handElector {
	return &handElector{changed: make(chan struct{}), elected: make(chan struct{}), lost: make(chan struct{}),
		end: make(chan error, 1)}
}

func (e *handElector) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-e.end:
		return err
	}
}
func (e *handElector) Leader() (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader, e.leader != ""
}
func (e *handElector) Elected() <-chan struct{} { return e.elected }
func (e *handElector) Lost() <-chan struct{}    { return e.lost }
func (e *handElector) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

func (e *handElector) setLeader(addr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leader = addr
	close(e.changed)
	e.changed = make(chan struct{})
}

// replicaServer is a Replica serving HTTP on a free port.
type replicaServer struct {
	r    *Replica
	e    *handElector
	addr string
}

func startReplica(t *testing.T, hold time.Duration) *replicaServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newHandElector()
	local := http.NewServeMux()
	local.HandleFunc("/ping", Ping)
	r, err := NewWithElector(Config{Advertise: ln.Addr().String(), Local: local, HoldTimeout: hold}, e)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return &replicaServer{r: r, e: e, addr: ln.Addr().String()}
}

func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// leaderAPI is the service handler a leader installs: it names the replica it runs on and
// streams on /events.
func leaderAPI(name string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/apps", func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "apps from %s via %s", name, req.Header.Get(HeaderForwardedBy))
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return mux
}

// A standby forwards to the leader (streams included), answers its local paths itself, holds
// requests while no leader is known and then answers 503, and never forwards twice.
func TestForwarding(t *testing.T) {
	a := startReplica(t, 300*time.Millisecond)
	b := startReplica(t, 300*time.Millisecond)

	// No leader known: /ping still answers, the API is held, then 503.
	if code, _, body := get(t, "http://"+b.addr+"/ping"); code != 200 || body != "pong" {
		t.Fatalf("/ping without a leader: %d %q", code, body)
	}
	start := time.Now()
	if code, _, _ := get(t, "http://"+b.addr+"/v2/apps"); code != 503 {
		t.Fatalf("no leader: %d, want 503", code)
	}
	if held := time.Since(start); held < 250*time.Millisecond {
		t.Errorf("request answered after %v, want it held for the hold timeout", held)
	}

	// A request held while the leader loads is answered as soon as the leader serves.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	release := make(chan struct{})
	go func() {
		ran <- a.r.Run(ctx, func(lctx context.Context, serve func(http.Handler)) error {
			<-release
			serve(leaderAPI("a"))
			<-lctx.Done()
			return nil
		})
	}()
	a.e.setLeader(a.addr)
	b.e.setLeader(a.addr)
	close(a.e.elected)
	type answer struct {
		code int
		body string
	}
	held := make(chan answer, 1)
	go func() {
		code, _, body := get(t, "http://"+a.addr+"/v2/apps")
		held <- answer{code, body}
	}()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if got := <-held; got.code != 200 || !strings.HasPrefix(got.body, "apps from a") {
		t.Fatalf("held request: %d %q", got.code, got.body)
	}

	// The standby forwards, and says who leads.
	code, h, body := get(t, "http://"+b.addr+"/v2/apps")
	if code != 200 || body != "apps from a via "+b.addr {
		t.Fatalf("forwarded: %d %q", code, body)
	}
	if h.Get(HeaderLeader) != a.addr || h.Get(HeaderMarathonLeader) != "http://"+a.addr {
		t.Errorf("leader headers %v", h)
	}
	// A forwarded request reaching a replica that does not lead is refused, not forwarded on.
	if code, _, _ := get(t, "http://"+b.addr+"/v2/apps", HeaderForwardedBy, "elsewhere:1"); code != 503 {
		t.Errorf("forwarded twice: %d, want 503", code)
	}

	// Streams pass through as they come.
	resp, err := http.Get("http://" + b.addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	got := 0
	deadline := time.After(5 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for got < 3 {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, "data: ") {
				got++
			}
		case <-deadline:
			t.Fatalf("stream: %d events in 5 s", got)
		}
	}
	resp.Body.Close()

	// The leader unreachable: 503 with a reason, never a hang.
	b.e.setLeader("127.0.0.1:1")
	if code, _, body := get(t, "http://"+b.addr+"/v2/apps"); code != 503 || !strings.Contains(body, "forwarding") {
		t.Errorf("unreachable leader: %d %q", code, body)
	}

	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run after ctx ended: %v", err)
	}
}

// Leadership ends for good on the election's Lost and on a fenced store; Run says so.
func TestRunLosesLeadership(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(e *handElector, fence chan<- struct{})
	}{
		{"zookeeper", func(e *handElector, _ chan<- struct{}) { close(e.lost) }},
		{"fenced", func(_ *handElector, fence chan<- struct{}) { close(fence) }},
		{"election ended", func(e *handElector, _ chan<- struct{}) { e.end <- errors.New("zookeeper: connection closed") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startReplica(t, time.Second)
			fence := make(chan struct{})
			ran := make(chan error, 1)
			serving := make(chan struct{})
			go func() {
				ran <- s.r.Run(context.Background(), func(lctx context.Context, serve func(http.Handler)) error {
					serve(leaderAPI("s"))
					close(serving)
					select {
					case <-lctx.Done():
						return nil
					case <-fence:
						return fmt.Errorf("apps: %w", kstore.ErrFenced)
					}
				})
			}()
			s.e.setLeader(s.addr)
			close(s.e.elected)
			<-serving
			if !s.r.Leading() {
				t.Fatal("not leading after serve")
			}
			tc.lose(s.e, fence)
			select {
			case err := <-ran:
				if !errors.Is(err, ErrLostLeadership) {
					t.Fatalf("Run: %v, want ErrLostLeadership", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not end after the leadership was lost")
			}
			if s.r.Leading() {
				t.Error("still serving its own handler after the loss")
			}
		})
	}
}

// Without an election the replica leads at once.
func TestAloneLeadsAtOnce(t *testing.T) {
	r, err := New(Config{Advertise: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		ran <- r.Run(ctx, func(lctx context.Context, serve func(http.Handler)) error {
			serve(leaderAPI("alone"))
			<-lctx.Done()
			return nil
		})
	}()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/apps", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "apps from alone") {
		t.Fatalf("alone: %d %q", rec.Code, rec.Body.String())
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}
