package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/sandbox"
	"strata/kernel/mesos/mesospb"
)

func TestRoundTrip(t *testing.T) {
	l := sandbox.Layout{WorkDir: t.TempDir()}
	aid, fid, eid, cid, tid := "agent-S1", "fw-0001", "exec", "c1", "task1"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	agentInfo := &mesospb.AgentInfo{Hostname: proto.String("h"), Id: &mesospb.AgentID{Value: proto.String(aid)}}
	fwInfo := &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("fw"), Checkpoint: proto.Bool(true),
		Id: &mesospb.FrameworkID{Value: proto.String(fid)}}
	execInfo := &mesospb.ExecutorInfo{ExecutorId: &mesospb.ExecutorID{Value: proto.String(eid)}}
	task := &mesospb.Task{Name: proto.String("t"), TaskId: &mesospb.TaskID{Value: proto.String(tid)},
		State: mesospb.TaskState_TASK_STAGING.Enum()}

	must(WriteFile(l.BootIDPath(), []byte("boot-1\n")))
	must(WriteProto(l.AgentInfoPath(aid), agentInfo))
	must(sandbox.Symlink(aid, l.MetaLatestLink()))
	must(WriteProto(l.FrameworkInfoPath(aid, fid), fwInfo))
	must(WriteProto(l.ExecutorInfoPath(aid, fid, eid), execInfo))
	must(sandbox.Symlink(cid, l.MetaLatestRunLink(aid, fid, eid)))
	must(WritePid(l.ForkedPidPath(aid, fid, eid, cid), 4242))
	must(Touch(l.HTTPMarkerPath(aid, fid, eid, cid)))
	must(WriteProto(l.TaskInfoPath(aid, fid, eid, cid, tid), task))
	// An older completed run.
	must(WritePid(l.ForkedPidPath(aid, fid, eid, "c0"), 1))
	must(Touch(l.CompletedPath(aid, fid, eid, "c0")))
	// A corrupt framework is skipped, not fatal.
	must(os.MkdirAll(l.MetaFrameworkDir(aid, "broken"), 0o755))
	must(os.WriteFile(l.FrameworkInfoPath(aid, "broken"), []byte{0xff, 0xff, 0xff}, 0o644))

	st, err := Recover(l)
	must(err)
	if st.BootID != "boot-1" || st.AgentID != aid || !proto.Equal(st.AgentInfo, agentInfo) {
		t.Fatalf("agent state = %+v", st)
	}
	if len(st.Frameworks) != 1 || len(st.Errors) != 1 {
		t.Fatalf("frameworks = %d, errors = %v", len(st.Frameworks), st.Errors)
	}
	f := st.Frameworks[0]
	if f.ID != fid || !proto.Equal(f.Info, fwInfo) || len(f.Executors) != 1 {
		t.Fatalf("framework = %+v", f)
	}
	ex := f.Executors[0]
	if ex.ID != eid || ex.LatestRun != cid || !proto.Equal(ex.Info, execInfo) || len(ex.Runs) != 2 {
		t.Fatalf("executor = %+v", ex)
	}
	run := ex.Run(cid)
	if run == nil || run.Pid != 4242 || !run.HTTP || run.Completed || len(run.Tasks) != 1 {
		t.Fatalf("run = %+v", run)
	}
	if !proto.Equal(run.Tasks[0].Info, task) || run.Tasks[0].UpdatesPath != l.TaskUpdatesPath(aid, fid, eid, cid, tid) {
		t.Fatalf("task = %+v", run.Tasks[0])
	}
	if old := ex.Run("c0"); old == nil || !old.Completed {
		t.Fatalf("old run = %+v", old)
	}
}

func TestRecoverEmpty(t *testing.T) {
	st, err := Recover(sandbox.Layout{WorkDir: t.TempDir()})
	if err != nil || st.AgentID != "" || len(st.Frameworks) != 0 {
		t.Fatalf("empty recover = %+v, %v", st, err)
	}
}

func TestWriteFileIsAtomicReplace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d", "f")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	entries, _ := os.ReadDir(filepath.Dir(p))
	if string(b) != "two" || len(entries) != 1 {
		t.Fatalf("content %q, %d entries (temp files left?)", b, len(entries))
	}
	if _, err := ReadPid(p); err == nil {
		t.Fatal("ReadPid accepted garbage")
	}
}
