package statusupdate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
)

// When the checkpoint cannot be written (a full disk; here its directory is a file), Update
// refuses the update with ErrCheckpoint, UpdateUncheckpointed takes it in memory and delivers
// it, and an acknowledgement that cannot be checkpointed still counts.
func TestCheckpointFailures(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "task")
	path := filepath.Join(blocker, "task.updates")
	rec := newRecorder()
	m := New(Config{RetryMin: time.Hour, Forward: rec.forward})
	defer m.Close()
	m.Resume()

	// The stream starts out checkpointed.
	if err := m.Update(update("t1", mesospb.TaskState_TASK_RUNNING, "u1"), path); err != nil {
		t.Fatal(err)
	}
	rec.next(t, time.Second)
	// Then the disk "fills": the file's directory becomes a file.
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acknowledge("fw", "t1", []byte("u1")); err != nil {
		t.Fatalf("an acknowledgement that cannot be checkpointed: %v", err)
	}
	failed := update("t1", mesospb.TaskState_TASK_FAILED, "u2")
	if err := m.Update(failed, path); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("Update without a writable checkpoint: %v, want ErrCheckpoint", err)
	}
	rec.none(t, 50*time.Millisecond)
	if err := m.UpdateUncheckpointed(failed, path); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(t, time.Second); string(got.GetStatus().GetUuid()) != "u2" {
		t.Fatalf("forwarded %v, want u2", got)
	}
	res, err := m.Acknowledge("fw", "t1", []byte("u2"))
	if err != nil || !res.Closed {
		t.Fatalf("acknowledging the uncheckpointed terminal update: %+v, %v", res, err)
	}
	if m.HasPending("fw", "t1") {
		t.Fatal("the stream still has pending updates")
	}
	// A new stream: UpdateUncheckpointed never touches the file.
	if err := m.UpdateUncheckpointed(update("t2", mesospb.TaskState_TASK_LOST, "u3"), filepath.Join(blocker, "t2")); err != nil {
		t.Fatal(err)
	}
	rec.next(t, time.Second)
}
