package master

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
)

// handElector is an Elector the test drives by hand: elect, lose.
type handElector struct {
	self    string
	leader  atomic.Value // string
	leading atomic.Bool
	elected chan struct{}
	lost    chan struct{}
	stopRun chan error // a value makes Run return it
	once    sync.Once
}

func newHandElector() *handElector {
	e := &handElector{elected: make(chan struct{}), lost: make(chan struct{}), stopRun: make(chan error, 1)}
	e.leader.Store("")
	return e
}

func (e *handElector) Leader() (string, bool) { l := e.leader.Load().(string); return l, l != "" }
func (e *handElector) IsLeader() bool         { return e.leading.Load() }
func (e *handElector) Elected() <-chan struct{} {
	return e.elected
}
func (e *handElector) Lost() <-chan struct{} { return e.lost }
func (e *handElector) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-e.stopRun:
		return err
	}
}
func (e *handElector) elect() {
	e.leader.Store(e.self)
	e.leading.Store(true)
	close(e.elected)
}

// lose gives leadership up the way kernel/election does: Lost closes, then Run returns an
// error of its own.
func (e *handElector) lose() {
	e.leading.Store(false)
	close(e.lost)
	e.stopRun <- errors.New("election: leadership lost")
}

// A master with an Elector answers 503 until elected, serves once elected, and when its
// leadership is lost Serve returns ErrLostLeadership: whichever of Lost and the end of Run
// the master sees first.
func TestMasterWithElector(t *testing.T) {
	for i := range 20 {
		e := newHandElector()
		m, err := New(Config{IP: "127.0.0.1", WorkDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
			Elector: func(info *mesospb.MasterInfo) (Elector, error) {
				e.self = net.JoinHostPort(info.GetHostname(), strconv.Itoa(int(info.GetPort())))
				return e, nil
			}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- m.Serve(t.Context(), ready) }()
		addr := <-ready
		if i == 0 {
			if code := statusOf(t, "http://"+addr+"/master/state-summary"); code != http.StatusServiceUnavailable {
				t.Fatalf("before the election: %d, want 503", code)
			}
		}
		e.elect()
		deadline := time.Now().Add(10 * time.Second)
		for statusOf(t, "http://"+addr+"/master/state-summary") != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatal("the elected master does not serve")
			}
			time.Sleep(10 * time.Millisecond)
		}
		e.lose()
		select {
		case err := <-done:
			if !errors.Is(err, ErrLostLeadership) {
				t.Fatalf("round %d: Serve returned %v, want ErrLostLeadership", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after the leadership was lost")
		}
	}
}

func statusOf(t *testing.T, url string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
