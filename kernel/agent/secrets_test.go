package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

func secretVar(name, ref string) *mesospb.Environment_Variable {
	return &mesospb.Environment_Variable{
		Name: proto.String(name),
		Type: mesospb.Environment_Variable_SECRET.Enum(),
		Secret: &mesospb.Secret{
			Type:      mesospb.Secret_REFERENCE.Enum(),
			Reference: &mesospb.Secret_Reference{Name: proto.String(ref)},
		},
	}
}

// A command task's SECRET variable reaches the task's environment resolved
// from the agent's secrets directory, while the checkpointed task keeps the
// reference; a reference to a missing secret fails the task at once.
func TestCommandTaskSecretEnvironment(t *testing.T) {
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Executable = exe
	cfg.SecretsDir = filepath.Join(t.TempDir(), "secrets")
	if err := os.MkdirAll(filepath.Join(cfg.SecretsDir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.SecretsDir, "db", "password"), []byte("s3cr3t-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))

	task := func(id, ref string) *mesospb.TaskInfo {
		return &mesospb.TaskInfo{
			Name:      proto.String(id),
			TaskId:    &mesospb.TaskID{Value: proto.String(id)},
			AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
			Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
			Command: &mesospb.CommandInfo{
				Value:       proto.String(`echo "password=$DB_PASSWORD"`),
				Environment: &mesospb.Environment{Variables: []*mesospb.Environment_Variable{secretVar("DB_PASSWORD", ref)}},
			},
		}
	}
	fi := frameworkInfo(t, "fw-1", true)
	m.send(runTask(fi, task("with-secret", "/db/password")))
	for _, state := range []mesospb.TaskState{mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED} {
		m.ack(m.waitUpdate("with-secret", state))
	}
	var sd stateDoc
	getJSON(t, a.url("/state"), &sd)
	ex, ok := findExecutor(sd, "fw-1", "with-secret")
	if !ok {
		t.Fatalf("executor not in /state: %+v", sd)
	}
	if got := readFile(t, a, ex.Directory+"/stdout"); !strings.Contains(got, "password=s3cr3t-value") {
		t.Fatalf("stdout = %q, want the resolved secret", got)
	}
	// Nothing the agent wrote besides the task's own output holds the value.
	err = filepath.Walk(cfg.WorkDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() || strings.HasPrefix(p, ex.Directory) {
			return nil
		}
		if b, _ := os.ReadFile(p); strings.Contains(string(b), "s3cr3t-value") {
			t.Errorf("%s holds the secret's value", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	m.send(runTask(fi, task("missing-secret", "/db/nope")))
	u := m.waitUpdate("missing-secret", mesospb.TaskState_TASK_FAILED)
	st := u.GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), `Failed to resolve secrets: environment variable DB_PASSWORD: secrets: reference "/db/nope": secret not found`) {
		t.Fatalf("missing secret: reason %v message %q", st.GetReason(), st.GetMessage())
	}
	m.ack(u)
}
