package statusupdate

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// recorder collects forwarded updates.
type recorder struct {
	mu   sync.Mutex
	sent []*Update
	ch   chan *Update
}

func newRecorder() *recorder { return &recorder{ch: make(chan *Update, 100)} }

func (r *recorder) forward(u *Update) {
	r.mu.Lock()
	r.sent = append(r.sent, u)
	r.mu.Unlock()
	r.ch <- u
}

func (r *recorder) next(t *testing.T, within time.Duration) *Update {
	t.Helper()
	select {
	case u := <-r.ch:
		return u
	case <-time.After(within):
		t.Fatalf("no update forwarded within %v", within)
		return nil
	}
}

func (r *recorder) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case u := <-r.ch:
		t.Fatalf("unexpected forward of %s uuid %s", u.GetStatus().GetState(), u.GetStatus().GetUuid())
	case <-time.After(within):
	}
}

func update(task string, state mesospb.TaskState, uuid string) *Update {
	return &Update{
		FrameworkId: &mesospb.FrameworkID{Value: proto.String("fw")},
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String("ex")},
		Status: &mesospb.TaskStatus{
			TaskId: &mesospb.TaskID{Value: proto.String(task)},
			State:  state.Enum(),
			Uuid:   []byte(uuid),
		},
	}
}

func TestOneInFlightAndOrder(t *testing.T) {
	rec := newRecorder()
	m := New(Config{RetryMin: time.Hour, Forward: rec.forward})
	defer m.Close()

	// Paused at start: stored, not sent.
	if err := m.Update(update("t1", mesospb.TaskState_TASK_RUNNING, "u1"), ""); err != nil {
		t.Fatal(err)
	}
	rec.none(t, 50*time.Millisecond)
	m.Resume()
	got := rec.next(t, time.Second)
	if string(got.GetStatus().GetUuid()) != "u1" || got.GetLatestState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("first forward = %v", got)
	}
	// A second update waits behind the first.
	if err := m.Update(update("t1", mesospb.TaskState_TASK_FINISHED, "u2"), ""); err != nil {
		t.Fatal(err)
	}
	rec.none(t, 50*time.Millisecond)
	// Another task has its own stream.
	if err := m.Update(update("t2", mesospb.TaskState_TASK_RUNNING, "v1"), ""); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(t, time.Second); string(got.GetStatus().GetUuid()) != "v1" {
		t.Fatalf("t2 forward = %v", got)
	}
	// Duplicate.
	if err := m.Update(update("t1", mesospb.TaskState_TASK_FINISHED, "u2"), ""); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate update: %v", err)
	}
	// A wrong uuid is ignored.
	if _, err := m.Acknowledge("fw", "t1", []byte("u2")); !errors.Is(err, ErrUnexpectedAck) {
		t.Fatalf("ack of u2 while u1 in flight: %v", err)
	}
	rec.none(t, 50*time.Millisecond)
	res, err := m.Acknowledge("fw", "t1", []byte("u1"))
	if err != nil || res.Terminal || res.Closed {
		t.Fatalf("ack u1 = %+v, %v", res, err)
	}
	got = rec.next(t, time.Second)
	if string(got.GetStatus().GetUuid()) != "u2" || got.GetLatestState() != mesospb.TaskState_TASK_FINISHED {
		t.Fatalf("second forward = %v", got)
	}
	if _, err := m.Acknowledge("fw", "t1", []byte("u1")); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("repeated ack: %v", err)
	}
	res, err = m.Acknowledge("fw", "t1", []byte("u2"))
	if err != nil || !res.Terminal || !res.Closed {
		t.Fatalf("terminal ack = %+v, %v", res, err)
	}
	if _, err := m.Acknowledge("fw", "t1", []byte("u3")); !errors.Is(err, ErrUnknownStream) {
		t.Fatalf("ack on closed stream: %v", err)
	}
	if m.HasPending("fw", "t1") || !m.HasPending("fw", "t2") {
		t.Fatal("HasPending wrong")
	}
	if p := m.Pending(); len(p) != 1 || string(p[0].GetStatus().GetUuid()) != "v1" {
		t.Fatalf("pending = %v", p)
	}
}

func TestRetryBackoffUntilAck(t *testing.T) {
	rec := newRecorder()
	m := New(Config{RetryMin: 20 * time.Millisecond, RetryMax: 80 * time.Millisecond, Forward: rec.forward})
	defer m.Close()
	m.Resume()
	if err := m.Update(update("t", mesospb.TaskState_TASK_RUNNING, "u"), ""); err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for range 5 {
		u := rec.next(t, 2*time.Second)
		if string(u.GetStatus().GetUuid()) != "u" {
			t.Fatalf("forwarded %v", u)
		}
		times = append(times, time.Now())
	}
	// Gaps grow (20, 40, 80, 80 ms): the last gap is at least the cap.
	if gap := times[4].Sub(times[3]); gap < 70*time.Millisecond {
		t.Fatalf("retry gap %v below the 80ms cap", gap)
	}
	if _, err := m.Acknowledge("fw", "t", []byte("u")); err != nil {
		t.Fatal(err)
	}
	// Drain a retry that may have raced with the ack, then expect silence.
	select {
	case <-rec.ch:
	case <-time.After(10 * time.Millisecond):
	}
	rec.none(t, 200*time.Millisecond)

	// Pause stops retries; Resume sends at once.
	if err := m.Update(update("t2", mesospb.TaskState_TASK_RUNNING, "w"), ""); err != nil {
		t.Fatal(err)
	}
	rec.next(t, time.Second)
	m.Pause()
	rec.none(t, 150*time.Millisecond)
	m.Resume()
	rec.next(t, 50*time.Millisecond)
}

func TestCheckpointRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks", "t", "task.updates")
	m := New(Config{RetryMin: time.Hour})
	for _, u := range []*Update{
		update("t", mesospb.TaskState_TASK_STARTING, "a"),
		update("t", mesospb.TaskState_TASK_RUNNING, "b"),
		update("t", mesospb.TaskState_TASK_FINISHED, "c"),
	} {
		if err := m.Update(u, path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Acknowledge("fw", "t", []byte("a")); err != nil {
		t.Fatal(err)
	}
	m.Close()

	// A torn record at the end (a crash mid-append) is dropped.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("40\nUpartial")
	f.Close()

	rec := newRecorder()
	m2 := New(Config{RetryMin: time.Hour, Forward: rec.forward})
	defer m2.Close()
	rep, err := m2.Recover("fw", "t", path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Updates) != 3 || !rep.Acked["a"] || rep.Acked["b"] || rep.Closed {
		t.Fatalf("replay = %+v", rep)
	}
	m2.Resume()
	if u := rec.next(t, time.Second); string(u.GetStatus().GetUuid()) != "b" ||
		u.GetLatestState() != mesospb.TaskState_TASK_FINISHED {
		t.Fatalf("resumed forward = %v", u)
	}
	if err := m2.Update(update("t", mesospb.TaskState_TASK_RUNNING, "b"), ""); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replayed uuid not deduplicated: %v", err)
	}
	for _, id := range []string{"b", "c"} {
		if _, err := m2.Acknowledge("fw", "t", []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	m2.Close()

	m3 := New(Config{})
	defer m3.Close()
	rep, err = m3.Recover("fw", "t", path)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Closed || len(rep.Updates) != 3 || len(m3.Pending()) != 0 {
		t.Fatalf("closed stream replay = %+v", rep)
	}
}

func TestRecoverRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "task.updates")
	if err := os.WriteFile(path, []byte("3\nXyz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{}).Recover("fw", "t", path); err == nil {
		t.Fatal("garbage accepted")
	}
	rep, err := New(Config{}).Recover("fw", "t", filepath.Join(t.TempDir(), "missing"))
	if err != nil || len(rep.Updates) != 0 {
		t.Fatalf("missing file: %+v %v", rep, err)
	}
}

func TestUpdateValidation(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	u := update("t", mesospb.TaskState_TASK_RUNNING, "")
	if err := m.Update(u, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no uuid: %v", err)
	}
	u = update("", mesospb.TaskState_TASK_RUNNING, "x")
	if err := m.Update(u, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no task id: %v", err)
	}
}

func FuzzParseRecords(f *testing.F) {
	f.Add([]byte("3\nAab"))
	f.Add([]byte("2\nUx"))
	f.Add([]byte("10\nU"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, n, _ := parseRecords(data)
		if n < 0 || n > len(data) {
			t.Fatalf("prefix %d out of range", n)
		}
		_ = recs
	})
}
