package framework

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/events"
	"strata/services/apps/instance"
	"strata/services/apps/store"
)

func TestTokenBucket(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	type take struct {
		at       time.Duration
		capacity int
		want     bool
	}
	tests := []struct {
		name   string
		window time.Duration
		takes  []take
	}{
		{"starts full, then one per window", 10 * time.Second, []take{
			{0, 1, true}, {0, 1, false}, {5 * time.Second, 1, false}, {10 * time.Second, 1, true}, {19 * time.Second, 1, false},
			{20 * time.Second, 1, true},
		}},
		{"a burst of the capacity, refilled over the window", 10 * time.Second, []take{
			{0, 3, true}, {0, 3, true}, {0, 3, true}, {0, 3, false},
			{3 * time.Second, 3, false}, {4 * time.Second, 3, true}, {5 * time.Second, 3, false}, {8 * time.Second, 3, true},
		}},
		{"an idle bucket holds no more than its capacity", time.Second, []take{
			{0, 2, true}, {time.Hour, 2, true}, {time.Hour, 2, true}, {time.Hour, 2, false},
		}},
		{"a smaller capacity caps what is left", 10 * time.Second, []take{
			{0, 4, true}, {0, 1, true}, {0, 1, false},
		}},
		{"no window: never refills", 0, []take{{0, 1, true}, {time.Hour, 1, false}}},
		{"time going backwards refills nothing", 10 * time.Second, []take{
			{10 * time.Second, 1, true}, {0, 1, false}, {15 * time.Second, 1, false}, {21 * time.Second, 1, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b tokenBucket
			for k, tk := range tt.takes {
				if got := b.take(t0.Add(tk.at), tk.capacity, tt.window); got != tk.want {
					t.Fatalf("take %d at %s (capacity %d) = %v, want %v", k, tk.at, tk.capacity, got, tk.want)
				}
			}
		})
	}
}

func TestHealthKillLimits(t *testing.T) {
	for _, tt := range []struct {
		share     float64
		instances int
		want      int
	}{{0.1, 0, 1}, {0.1, 4, 1}, {0.1, 10, 1}, {0.1, 19, 1}, {0.1, 20, 2}, {0.1, 1000, 100}, {0.5, 3, 1}, {0.3, 10, 3}} {
		if got := healthKillCapacity(tt.share, tt.instances); got != tt.want {
			t.Errorf("healthKillCapacity(%v, %d) = %d, want %d", tt.share, tt.instances, got, tt.want)
		}
	}
	for _, tt := range []struct {
		check app.HealthCheck
		want  time.Duration
	}{
		{app.HealthCheck{GracePeriodSeconds: 300, IntervalSeconds: 60, MaxConsecutiveFailures: 3, DelaySeconds: 15}, 300 * time.Second},
		{app.HealthCheck{GracePeriodSeconds: 10, IntervalSeconds: 5, MaxConsecutiveFailures: 3, DelaySeconds: 2}, 17 * time.Second},
		{app.HealthCheck{IntervalSeconds: 1, MaxConsecutiveFailures: 0}, time.Second},
		{app.HealthCheck{}, time.Second},
	} {
		if got := healthKillWindow(tt.check); got != tt.want {
			t.Errorf("healthKillWindow(%+v) = %s, want %s", tt.check, got, tt.want)
		}
	}
}

// events records what the framework publishes.
type recorder struct {
	mu  sync.Mutex
	evs []events.Typed
}

func (r *recorder) Emit(e events.Typed) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
	return uint64(len(r.evs)), nil
}

func (r *recorder) kills() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if k, ok := e.(events.UnhealthyTaskKillEvent); ok {
			out = append(out, k.TaskID)
		}
	}
	return out
}

// healthKillFixture is a framework (never subscribed) with an app of four running instances
// whose health checks all fail.
func healthKillFixture(t *testing.T, body string, cfg Config) (*Framework, *recorder, time.Time) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "apps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &recorder{}
	cfg.Masters, cfg.Store, cfg.User, cfg.Logger, cfg.Events = []string{"127.0.0.1:1"}, st, "nobody", quietLog(), rec
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := mustApp(t, body)
	now := time.Now().UTC()
	var list []*instance.Instance
	for k, failures := range []int{2, 5, 3, 0} {
		list = append(list, &instance.Instance{
			TaskID: "a." + string(rune('1'+k)), AppID: "/a", Version: a.Version, ConfigVersion: a.ConfigVersion(),
			State: instance.Running, AgentID: "agent", Host: "h", ScheduledAt: now, StartedAt: now,
			Health: &instance.Health{Alive: failures == 0, ConsecutiveFailures: failures},
		})
	}
	f.Load(list, nil)
	f.SetApp(a, false, nil)
	return f, rec, now
}

func (f *Framework) pass(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healthKills(at)
}

func (f *Framework) inst(id string) *instance.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.instances[id]
}

const sickApp = `{"id":"/a","cmd":"x","instances":4,"healthChecks":[{"protocol":"MESOS_TCP","maxConsecutiveFailures":2}]`

// TestHealthKills: three of four instances fail their checks at once; they are killed one at a
// time (at most one in flight, one per window), the one with the most failures first, each after
// its replacement runs; an instance below maxConsecutiveFailures is left alone.
func TestHealthKills(t *testing.T) {
	f, rec, t0 := healthKillFixture(t, sickApp+`}`, Config{HealthKillWindow: 10 * time.Second, ReplacementWait: time.Hour})

	f.pass(t0)
	if got := rec.kills(); len(got) != 1 || got[0] != "a.2" {
		t.Fatalf("first pass killed %v, want [a.2] (the most failures)", got)
	}
	victim := f.inst("a.2")
	if !victim.KillRequested || victim.KillReason != instance.KillUnhealthy || !victim.KillHeld() || victim.ReplacedBy == "" {
		t.Fatalf("victim %+v: want a held health kill with a replacement", victim)
	}
	repl := f.inst(victim.ReplacedBy)
	if repl == nil || repl.State != instance.Scheduled {
		t.Fatalf("replacement %+v", repl)
	}

	// A second pass before the replacement runs and within the window: nothing.
	f.pass(t0.Add(time.Second))
	if got := rec.kills(); len(got) != 1 || !f.inst("a.2").KillHeld() {
		t.Fatalf("second pass: kills %v, held %v", got, f.inst("a.2").KillHeld())
	}

	// The replacement runs: the kill is released; the victim is still in flight.
	f.mu.Lock()
	f.instances[repl.TaskID].State = instance.Running
	f.mu.Unlock()
	f.pass(t0.Add(2 * time.Second))
	if f.inst("a.2").KillHeld() || len(rec.kills()) != 1 {
		t.Fatalf("after the replacement runs: held %v, kills %v", f.inst("a.2").KillHeld(), rec.kills())
	}

	// The victim is gone, but the window is not over: no kill until it is.
	f.mu.Lock()
	f.forget("a.2")
	f.mu.Unlock()
	f.pass(t0.Add(5 * time.Second))
	if got := rec.kills(); len(got) != 1 {
		t.Fatalf("kills within the window: %v", got)
	}
	f.pass(t0.Add(10 * time.Second))
	if got := rec.kills(); len(got) != 2 || got[1] != "a.3" {
		t.Fatalf("kills after the window: %v, want a.3 second", got)
	}
	if i := f.inst("a.4"); i.KillRequested {
		t.Fatalf("a healthy instance was killed: %+v", i)
	}
}

func TestHealthKillVariants(t *testing.T) {
	t.Run("no room above the instance count: killed at once", func(t *testing.T) {
		f, rec, t0 := healthKillFixture(t, sickApp+`,"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":0}}`, Config{})
		f.pass(t0)
		if v := f.inst("a.2"); len(rec.kills()) != 1 || !v.KillRequested || v.KillHeld() || v.ReplacedBy != "" {
			t.Fatalf("kills %v, victim %+v", rec.kills(), v)
		}
	})
	t.Run("held by a deployment: killed at once", func(t *testing.T) {
		f, rec, t0 := healthKillFixture(t, sickApp+`}`, Config{})
		f.Hold("/a", true)
		f.pass(t0)
		if v := f.inst("a.2"); len(rec.kills()) != 1 || v.KillHeld() {
			t.Fatalf("kills %v, victim %+v", rec.kills(), v)
		}
	})
	t.Run("the replacement takes too long: killed anyway", func(t *testing.T) {
		f, _, t0 := healthKillFixture(t, sickApp+`}`, Config{ReplacementWait: 30 * time.Second})
		f.pass(t0)
		f.pass(t0.Add(29 * time.Second))
		if !f.inst("a.2").KillHeld() {
			t.Fatal("released before ReplacementWait")
		}
		f.pass(t0.Add(31 * time.Second))
		if f.inst("a.2").KillHeld() {
			t.Fatal("still held after ReplacementWait")
		}
	})
	t.Run("a larger share kills more at once", func(t *testing.T) {
		f, rec, t0 := healthKillFixture(t, sickApp+`}`, Config{HealthKillShare: 0.5})
		f.pass(t0)
		if got := rec.kills(); len(got) != 2 || got[0] != "a.2" || got[1] != "a.3" {
			t.Fatalf("kills %v, want [a.2 a.3]", got)
		}
	})
	t.Run("maxConsecutiveFailures 0: never", func(t *testing.T) {
		f, rec, t0 := healthKillFixture(t, `{"id":"/a","cmd":"x","instances":4,"healthChecks":[{"protocol":"MESOS_TCP","maxConsecutiveFailures":0}]}`, Config{})
		f.pass(t0)
		if got := rec.kills(); len(got) != 0 {
			t.Fatalf("kills %v", got)
		}
	})
	t.Run("an API kill does not wait for the replacement", func(t *testing.T) {
		f, _, t0 := healthKillFixture(t, sickApp+`}`, Config{})
		f.pass(t0)
		f.Kill([]string{"a.2"})
		if v := f.inst("a.2"); v.KillHeld() || !v.KillRequested {
			t.Fatalf("victim %+v", v)
		}
	})
}
