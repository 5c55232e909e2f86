package executor

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/executor/health"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

func TestMergeEnv(t *testing.T) {
	got := mergeEnv(
		[]string{"A=1", "B=2", "junk", "A=3", "C="},
		[]string{"B=two", "D=4=four", "C=c"},
	)
	want := []string{"A=3", "B=two", "C=c", "D=4=four"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

func TestEventCodec(t *testing.T) {
	tests := []struct {
		header map[string]string
		want   codec.Codec
		err    bool
	}{
		{map[string]string{}, codec.JSON, false}, // the fallback
		{map[string]string{"Content-Type": "application/x-protobuf"}, codec.Protobuf, false},
		{map[string]string{"Content-Type": "application/json; charset=utf-8"}, codec.JSON, false},
		{map[string]string{"Content-Type": "application/recordio", "Message-Content-Type": "application/x-protobuf"}, codec.Protobuf, false},
		{map[string]string{"Content-Type": "application/recordio"}, codec.JSON, false},
		{map[string]string{"Content-Type": "text/html"}, codec.Codec{}, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		got, err := eventCodec(h, codec.JSON)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("eventCodec(%v) = %v, %v", tt.header, got, err)
		}
	}
}

func TestAgentURL(t *testing.T) {
	eq(t, agentBaseURL("10.0.0.5:5051"), "http://10.0.0.5:5051")
	eq(t, agentBaseURL("http://agent:5051/"), "http://agent:5051")
	eq(t, endpointHost("[::1]:5051"), "::1")
}

func TestResolveHostIP(t *testing.T) {
	eq(t, resolveHostIP("10.1.2.3", "127.0.0.1:5051"), "10.1.2.3")
	eq(t, resolveHostIP("", "192.168.1.4:5051"), "192.168.1.4")
	eq(t, resolveHostIP("", "[2001:db8::1]:5051"), "2001:db8::1")
	eq(t, resolveHostIP("", "0.0.0.0:5051"), "")
	eq(t, resolveHostIP("not-an-ip", "10.9.8.7:5051"), "10.9.8.7")
	eq(t, resolveHostIP("", "localhost:5051") != "", true)
}

func TestNetworkInfo(t *testing.T) {
	if networkInfo("") != nil || networkInfo("host") != nil {
		t.Error("networkInfo accepted a non-IP")
	}
	v4 := networkInfo("10.0.0.1").GetIpAddresses()[0]
	eq(t, v4.GetProtocol(), mesospb.NetworkInfo_IPv4)
	eq(t, v4.GetIpAddress(), "10.0.0.1")
	v6 := networkInfo("2001:db8::1").GetIpAddresses()[0]
	eq(t, v6.GetProtocol(), mesospb.NetworkInfo_IPv6)
}

func TestUUID(t *testing.T) {
	a, b := newUUID(), newUUID()
	if len(a) != 16 || string(a) == string(b) {
		t.Fatalf("uuids %x %x", a, b)
	}
	s := formatUUID(a)
	if len(s) != 36 || s[14] != '4' || !strings.ContainsAny(s[19:20], "89ab") {
		t.Errorf("formatUUID = %q", s)
	}
	eq(t, formatUUID([]byte{1, 2}), "0102")
}

func TestHealthCheckConversion(t *testing.T) {
	tests := []struct {
		name string
		in   *mesospb.HealthCheck
		want health.Check
		err  string
	}{
		{
			name: "command with defaults",
			in: &mesospb.HealthCheck{
				Type: mesospb.HealthCheck_COMMAND.Enum(),
				Command: &mesospb.CommandInfo{Value: proto.String("curl -f localhost"), Environment: &mesospb.Environment{
					Variables: []*mesospb.Environment_Variable{
						{Name: proto.String("X"), Value: proto.String("1")},
						{Name: proto.String("S"), Type: mesospb.Environment_Variable_SECRET.Enum()},
					}}},
			},
			want: health.Check{Type: health.Command, Shell: true, Command: "curl -f localhost", Env: []string{"X=1"}, Dir: "/sb",
				Delay: 15 * time.Second, Interval: 10 * time.Second, Timeout: 20 * time.Second, GracePeriod: 10 * time.Second,
				ConsecutiveFailures: 3},
		},
		{
			name: "argv command with explicit zeros",
			in: &mesospb.HealthCheck{
				Type:         mesospb.HealthCheck_COMMAND.Enum(),
				Command:      &mesospb.CommandInfo{Shell: proto.Bool(false), Value: proto.String("test"), Arguments: []string{"test", "-f", "x"}},
				DelaySeconds: proto.Float64(0), IntervalSeconds: proto.Float64(0.5), TimeoutSeconds: proto.Float64(0),
				GracePeriodSeconds: proto.Float64(0), ConsecutiveFailures: proto.Uint32(1),
			},
			want: health.Check{Type: health.Command, Command: "test", Args: []string{"test", "-f", "x"}, Dir: "/sb",
				Interval: 500 * time.Millisecond, ConsecutiveFailures: 1, Explicit: health.AllFields},
		},
		{
			name: "http",
			in: &mesospb.HealthCheck{Type: mesospb.HealthCheck_HTTP.Enum(), Http: &mesospb.HealthCheck_HTTPCheckInfo{
				Port: proto.Uint32(8080), Path: proto.String("/health"), Statuses: []uint32{200}}},
			want: health.Check{Type: health.HTTP, HTTPScheme: "http", HTTPPath: "/health", Statuses: []uint32{200}, Port: 8080,
				Delay: 15 * time.Second, Interval: 10 * time.Second, Timeout: 20 * time.Second, GracePeriod: 10 * time.Second,
				ConsecutiveFailures: 3},
		},
		{
			name: "legacy tcp without type",
			in:   &mesospb.HealthCheck{Tcp: &mesospb.HealthCheck_TCPCheckInfo{Port: proto.Uint32(9000)}},
			want: health.Check{Type: health.TCP, Port: 9000, Delay: 15 * time.Second, Interval: 10 * time.Second,
				Timeout: 20 * time.Second, GracePeriod: 10 * time.Second, ConsecutiveFailures: 3},
		},
		{name: "nothing", in: &mesospb.HealthCheck{}, err: "unsupported"},
		{name: "http without http", in: &mesospb.HealthCheck{Type: mesospb.HealthCheck_HTTP.Enum()}, err: "without http"},
		{
			name: "invalid port",
			in:   &mesospb.HealthCheck{Type: mesospb.HealthCheck_TCP.Enum(), Tcp: &mesospb.HealthCheck_TCPCheckInfo{Port: proto.Uint32(0)}},
			err:  "invalid port",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := healthCheck(tt.in, "/sb")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || got.Shell != tt.want.Shell || got.Command != tt.want.Command ||
				!slices.Equal(got.Args, tt.want.Args) || !slices.Equal(got.Env, tt.want.Env) || got.Dir != tt.want.Dir ||
				got.HTTPScheme != tt.want.HTTPScheme || got.HTTPPath != tt.want.HTTPPath || !slices.Equal(got.Statuses, tt.want.Statuses) ||
				got.Port != tt.want.Port || got.Delay != tt.want.Delay || got.Interval != tt.want.Interval ||
				got.Timeout != tt.want.Timeout || got.GracePeriod != tt.want.GracePeriod ||
				got.ConsecutiveFailures != tt.want.ConsecutiveFailures {
				t.Errorf("healthCheck =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestKillGrace(t *testing.T) {
	e := &executor{}
	plain := &task{info: commandTask("x")}
	withPolicy := &task{info: commandTask("x")}
	withPolicy.info.KillPolicy = killPolicy(7 * time.Second)
	eq(t, e.killGrace(plain, nil), DefaultKillGracePeriod)
	eq(t, e.killGrace(withPolicy, nil), 7*time.Second)
	eq(t, e.killGrace(withPolicy, killPolicy(time.Second)), time.Second)
	eq(t, e.killGrace(plain, &mesospb.KillPolicy{}), DefaultKillGracePeriod) // a policy without grace
	eq(t, e.killGrace(plain, killPolicy(-time.Second)), time.Duration(0))
}
