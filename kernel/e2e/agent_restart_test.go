package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
)

// startCluster runs `strata master` and `strata agent` as separate processes.
func startCluster(t *testing.T) (master *proc, masterAddr string, agentArgs []string, agentAddr string) {
	t.Helper()
	mp := freePort(t)
	masterAddr = fmt.Sprintf("127.0.0.1:%d", mp)
	master = start(t, "master", "--work-dir", t.TempDir(), "--port", fmt.Sprint(mp),
		"--agent-ping-timeout", "1s", "--max-agent-ping-timeouts", "30")
	waitHTTP(t, "http://"+masterAddr+"/health", 20*time.Second)
	agentArgs, agentAddr = agentArgsFor(t, masterAddr, t.TempDir())
	return master, masterAddr, agentArgs, agentAddr
}

// agentArgsFor are the arguments of an agent of master on a free port with work dir workDir
// (extra flags go on top), and its address.
func agentArgsFor(t *testing.T, master, workDir string, extra ...string) ([]string, string) {
	t.Helper()
	ap := freePort(t)
	args := []string{"agent", "--work-dir", workDir, "--master", master, "--ip", "127.0.0.1",
		"--hostname", "127.0.0.1", "--port", fmt.Sprint(ap), "--resources", "cpus:2;mem:1024;disk:1024;ports:[31000-31100]"}
	return append(args, extra...), fmt.Sprintf("127.0.0.1:%d", ap)
}

func activeAgents(t *testing.T, master string) int {
	var st struct {
		Slaves []struct {
			Active bool `json:"active"`
		} `json:"slaves"`
	}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+master+"/master/slaves")), &st); err != nil {
		return 0
	}
	n := 0
	for _, s := range st.Slaves {
		if s.Active {
			n++
		}
	}
	return n
}

// TestAgentRestartKeepsCheckpointedTasks kills the agent process with SIGKILL and starts it again:
// a checkpointing framework's task keeps running and is re-attached; a non-checkpointing
// framework's task is killed, per Mesos semantics.
func TestAgentRestartKeepsCheckpointedTasks(t *testing.T) {
	_, master, agentArgs, agentAddr := startCluster(t)
	agent := start(t, agentArgs...)
	eventually(t, 20*time.Second, "the agent to register", func() bool { return activeAgents(t, master) == 1 })

	durable := startFramework(t, master, true)
	durable.launch("durable", "sleep 301.4242")
	durable.waitState("durable", mesospb.TaskState_TASK_RUNNING, 20*time.Second)
	fragile := startFramework(t, master, false)
	fragile.launch("fragile", "sleep 302.4242")
	fragile.waitState("fragile", mesospb.TaskState_TASK_RUNNING, 20*time.Second)

	// Sandbox files are readable through the agent's /files API, found via /state.
	var state struct {
		Frameworks []struct {
			Executors []struct {
				ID        string `json:"id"`
				Directory string `json:"directory"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+agentAddr+"/state")), &state); err != nil {
		t.Fatalf("agent /state: %v", err)
	}
	var dir string
	for _, fw := range state.Frameworks {
		for _, ex := range fw.Executors {
			if ex.ID == "durable" {
				dir = ex.Directory
			}
		}
	}
	if dir == "" {
		t.Fatalf("agent /state has no executor 'durable' with a directory")
	}
	read := getBody(t, "http://"+agentAddr+"/files/read?path="+url.QueryEscape(dir+"/stderr")+"&offset=0")
	if !strings.Contains(read, `"data"`) {
		t.Fatalf("/files/read of the sandbox stderr: %s", read)
	}

	agent.Signal(t, syscall.SIGKILL)
	if len(processesWith("301.4242")) == 0 {
		t.Fatal("the checkpointed task died with the agent process")
	}
	// The master notices the broken stream: the fragile task is reported LOST at once (as Mesos does for frameworks that do not checkpoint).
	st := fragile.waitState("fragile", mesospb.TaskState_TASK_LOST, 20*time.Second)
	if st.GetReason() != mesospb.TaskStatus_REASON_AGENT_DISCONNECTED {
		t.Fatalf("fragile task reason = %s", st.GetReason())
	}

	start(t, agentArgs...)
	eventually(t, 30*time.Second, "the agent to re-register", func() bool { return activeAgents(t, master) == 1 })
	eventually(t, 20*time.Second, "the non-checkpointed task process to be killed", func() bool { return len(processesWith("302.4242")) == 0 })
	if len(processesWith("301.4242")) == 0 {
		t.Fatal("the checkpointed task did not survive the agent restart")
	}

	// Reconciliation says RUNNING, and a kill still reaches the re-attached executor.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := durable.client.Reconcile(ctx, []scheduler.ReconcileTask{{TaskID: "durable"}}); err != nil {
		t.Fatal(err)
	}
	durable.waitState("durable", mesospb.TaskState_TASK_RUNNING, 20*time.Second)
	if err := durable.client.Kill(ctx, &mesospb.TaskID{Value: proto.String("durable")}, durable.agentOf("durable"), nil); err != nil {
		t.Fatal(err)
	}
	durable.waitState("durable", mesospb.TaskState_TASK_KILLED, 20*time.Second)
	eventually(t, 10*time.Second, "the killed task's process to exit", func() bool { return len(processesWith("301.4242")) == 0 })
}

// TestFetchAndHealthCheck runs a task that fetches an archive over HTTP and passes a COMMAND
// health check.
func TestFetchAndHealthCheck(t *testing.T) {
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "#!/bin/sh\necho fetched-and-ran\n")
	})}
	ln := listen(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	_, master, _ := startDev(t)
	fw := startFramework(t, master, false)
	fw.launch("fetch", "./hello.sh && sleep 30", func(ti *mesospb.TaskInfo) {
		ti.Command.Uris = []*mesospb.CommandInfo_URI{{
			Value: proto.String("http://" + ln.Addr().String() + "/hello.sh"), Executable: proto.Bool(true),
		}}
		ti.HealthCheck = &mesospb.HealthCheck{
			Type:                mesospb.HealthCheck_COMMAND.Enum(),
			Command:             &mesospb.CommandInfo{Value: proto.String("test -x hello.sh")},
			DelaySeconds:        proto.Float64(0),
			IntervalSeconds:     proto.Float64(0.5),
			GracePeriodSeconds:  proto.Float64(5),
			ConsecutiveFailures: proto.Uint32(3),
		}
	})
	fw.waitState("fetch", mesospb.TaskState_TASK_RUNNING, 30*time.Second)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case st := <-fw.updates:
			if st.GetTaskId().GetValue() == "fetch" && st.Healthy != nil {
				if !st.GetHealthy() || st.GetReason() != mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED {
					t.Fatalf("health update = %v", st)
				}
				return
			}
		case <-deadline:
			t.Fatal("no healthy update within 30s")
		}
	}
}
