package records_test

import (
	"fmt"
	"strings"

	"strata/dns/records"
)

func Example() {
	set, err := records.New(records.DefaultConfig())
	if err != nil {
		panic(err)
	}
	st, err := records.ParseMasterState(strings.NewReader(`{
	  "leader": "master@10.0.0.1:5050",
	  "slaves": [{"id": "c0ffee-S1", "hostname": "agent-1", "pid": "slave(1)@10.0.1.11:5051"}],
	  "frameworks": [{"id": "fw-1", "name": "marathon", "tasks": [{
	    "id": "test", "name": "Web", "slave_id": "c0ffee-S1", "state": "TASK_RUNNING",
	    "resources": {"ports": "[31000-31000]"}}]}]}`))
	if err != nil {
		panic(err)
	}
	set.Replace(st)
	fmt.Println(set.A("web.marathon.mesos."))
	fmt.Println(set.SRV("_web._tcp.marathon.mesos."))

	// An event from the operator API stream: the task is killed.
	set.UpdateTaskStatus("fw-1", "test", records.Status{State: records.TaskKilled})
	fmt.Println(set.Exists("web.marathon.mesos."), set.Exists("leader.mesos."))
	// Output:
	// [10.0.1.11]
	// [web-iffe9-s1.marathon.slave.mesos.:31000]
	// false true
}
