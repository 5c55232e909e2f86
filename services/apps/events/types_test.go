package events

import (
	"encoding/json"
	"testing"
	"time"
)

// TestEventJSON pins the JSON of every event struct to the field names of Marathon's event bus
// documentation and JSON writers.
func TestEventJSON(t *testing.T) {
	healthy := true
	hc := map[string]any{"protocol": "HTTP", "path": "/health", "portIndex": 0}
	plan := map[string]any{"id": "867ed450", "steps": []any{}}
	step := map[string]any{"actions": []any{map[string]string{"action": "ScaleApplication", "app": "/my-app"}}}
	const env = `"timestamp":"` + fixedStamp + `"}`
	tests := []struct {
		event Typed
		want  string
	}{
		{APIPostEvent{ClientIP: "0:0:0:0:0:0:0:1", URI: "/v2/apps/my-app", AppDefinition: map[string]string{"id": "/my-app"}},
			`{"clientIp":"0:0:0:0:0:0:0:1","uri":"/v2/apps/my-app","appDefinition":{"id":"/my-app"},"eventType":"api_post_event",` + env},
		{StatusUpdateEvent{SlaveID: "s1", TaskID: "my-app.1", TaskStatus: "TASK_RUNNING", AppID: "/my-app", Host: "h", Ports: []int{31372}, Version: "v"},
			`{"slaveId":"s1","taskId":"my-app.1","taskStatus":"TASK_RUNNING","message":"","appId":"/my-app","host":"h","ipAddresses":[],"ports":[31372],"version":"v","eventType":"status_update_event",` + env},
		{StatusUpdateEvent{IPAddresses: []IPAddress{{IPAddress: "10.0.0.1", Protocol: "IPv4"}}},
			`{"slaveId":"","taskId":"","taskStatus":"","message":"","appId":"","host":"","ipAddresses":[{"ipAddress":"10.0.0.1","protocol":"IPv4"}],"ports":[],"version":"","eventType":"status_update_event",` + env},
		{InstanceChangedEvent{InstanceID: "my-app.instance-1", Condition: ConditionRunning, RunSpecID: "/my-app", AgentID: "a1", Host: "h", RunSpecVersion: "v"},
			`{"instanceId":"my-app.instance-1","condition":"Running","runSpecId":"/my-app","agentId":"a1","host":"h","runSpecVersion":"v","eventType":"instance_changed_event",` + env},
		{UnknownInstanceTerminatedEvent{InstanceID: "i", RunSpecID: "/a", Condition: ConditionGone},
			`{"instanceId":"i","runSpecId":"/a","condition":"Gone","eventType":"unknown_instance_terminated_event",` + env},
		{InstanceHealthChangedEvent{InstanceID: "i", RunSpecID: "/a", RunSpecVersion: "v", Healthy: &healthy},
			`{"instanceId":"i","runSpecId":"/a","runSpecVersion":"v","healthy":true,"eventType":"instance_health_changed_event",` + env},
		{InstanceHealthChangedEvent{InstanceID: "i", RunSpecID: "/a", RunSpecVersion: "v"},
			`{"instanceId":"i","runSpecId":"/a","runSpecVersion":"v","healthy":null,"eventType":"instance_health_changed_event",` + env},
		{AppTerminatedEvent{AppID: "/a"}, `{"appId":"/a","eventType":"app_terminated_event",` + env},
		{AddHealthCheckEvent{AppID: "/a", Version: "v", HealthCheck: hc},
			`{"appId":"/a","version":"v","healthCheck":{"path":"/health","portIndex":0,"protocol":"HTTP"},"eventType":"add_health_check_event",` + env},
		{RemoveHealthCheckEvent{AppID: "/a"}, `{"appId":"/a","eventType":"remove_health_check_event",` + env},
		{FailedHealthCheckEvent{AppID: "/a", TaskID: "t", HealthCheck: hc},
			`{"appId":"/a","taskId":"t","healthCheck":{"path":"/health","portIndex":0,"protocol":"HTTP"},"eventType":"failed_health_check_event",` + env},
		{HealthStatusChangedEvent{AppID: "/a", InstanceID: "i", Version: "v", Alive: true},
			`{"appId":"/a","instanceId":"i","version":"v","alive":true,"eventType":"health_status_changed_event",` + env},
		{HealthStatusChangedEvent{AppID: "/a", TaskID: "t", Version: "v"},
			`{"appId":"/a","taskId":"t","version":"v","alive":false,"eventType":"health_status_changed_event",` + env},
		{UnhealthyTaskKillEvent{AppID: "/a", TaskID: "t", Version: "v", Reason: "500 Internal Server Error", Host: "h", SlaveID: "s"},
			`{"appId":"/a","taskId":"t","version":"v","reason":"500 Internal Server Error","host":"h","slaveId":"s","eventType":"unhealthy_task_kill_event",` + env},
		{UnhealthyInstanceKillEvent{AppID: "/a", TaskID: "t", InstanceID: "i", Version: "v", Reason: "r", Host: "h"},
			`{"appId":"/a","taskId":"t","instanceId":"i","version":"v","reason":"r","host":"h","eventType":"unhealthy_instance_kill_event",` + env},
		{GroupChangeSuccessEvent{GroupID: "/product-a/backend", Version: "v"},
			`{"groupId":"/product-a/backend","version":"v","eventType":"group_change_success",` + env},
		{GroupChangeFailedEvent{GroupID: "/g", Version: "v"},
			`{"groupId":"/g","version":"v","reason":"","eventType":"group_change_failed",` + env},
		{DeploymentSuccessEvent{ID: "867ed450"}, `{"id":"867ed450","eventType":"deployment_success",` + env},
		{DeploymentSuccessEvent{ID: "867ed450", Plan: plan},
			`{"id":"867ed450","plan":{"id":"867ed450","steps":[]},"eventType":"deployment_success",` + env},
		{DeploymentFailedEvent{ID: "d", Reason: "progress deadline of 600s passed"},
			`{"id":"d","reason":"progress deadline of 600s passed","eventType":"deployment_failed",` + env},
		{DeploymentInfoEvent{Plan: plan, CurrentStep: step},
			`{"plan":{"id":"867ed450","steps":[]},"currentStep":{"actions":[{"action":"ScaleApplication","app":"/my-app"}]},"eventType":"deployment_info",` + env},
		{DeploymentStepSuccessEvent{Plan: plan, CurrentStep: step},
			`{"plan":{"id":"867ed450","steps":[]},"currentStep":{"actions":[{"action":"ScaleApplication","app":"/my-app"}]},"eventType":"deployment_step_success",` + env},
		{DeploymentStepFailureEvent{Plan: plan, CurrentStep: step},
			`{"plan":{"id":"867ed450","steps":[]},"currentStep":{"actions":[{"action":"ScaleApplication","app":"/my-app"}]},"eventType":"deployment_step_failure",` + env},
		{StreamAttachedEvent{RemoteAddress: "127.0.0.1"}, `{"remoteAddress":"127.0.0.1","eventType":"event_stream_attached",` + env},
		{StreamDetachedEvent{RemoteAddress: "127.0.0.1"}, `{"remoteAddress":"127.0.0.1","eventType":"event_stream_detached",` + env},
		{StreamGapEvent{LastEventID: "3", FirstAvailableID: 9, Reason: GapEvicted},
			`{"lastEventId":"3","firstAvailableId":9,"reason":"evicted","eventType":"event_stream_gap",` + env},
	}
	for _, tt := range tests {
		t.Run(tt.event.EventType(), func(t *testing.T) {
			data, err := encodePayload(tt.event.EventType(), tt.event, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.want {
				t.Fatalf("\n got %s\nwant %s", data, tt.want)
			}
			// The shortcut for this package's structs agrees with the general path.
			var generic map[string]any
			if err := json.Unmarshal(data, &generic); err != nil {
				t.Fatal(err)
			}
			delete(generic, "eventType")
			delete(generic, "timestamp")
			again, err := encodePayload(tt.event.EventType(), generic, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			var a, b map[string]any
			if err := json.Unmarshal(data, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &b); err != nil {
				t.Fatal(err)
			}
			if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
				t.Fatalf("general path differs:\n%s\n%s", ja, jb)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTimestampLayout(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{fixedNow, fixedStamp},
		{time.Date(2014, 3, 1, 23, 29, 30, 0, time.UTC), "2014-03-01T23:29:30.000Z"},
		{time.Date(2014, 3, 2, 1, 29, 30, 158_000_000, time.FixedZone("CEST", 2*3600)), "2014-03-01T23:29:30.158Z"},
	}
	for _, tt := range tests {
		data, err := encodePayload("x", map[string]int{}, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"eventType":"x","timestamp":"` + tt.want + `"}`; string(data) != want {
			t.Errorf("%v: %s, want %s", tt.in, data, want)
		}
	}
}
