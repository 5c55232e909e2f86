package codec

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func scalarRes(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{
		Name:   proto.String(name),
		Type:   mesospb.Value_SCALAR.Enum(),
		Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)},
	}
}

func portsRes(ranges ...[2]uint64) *mesospb.Resource {
	r := &mesospb.Resource{
		Name:   proto.String("ports"),
		Type:   mesospb.Value_RANGES.Enum(),
		Ranges: &mesospb.Value_Ranges{},
	}
	for _, b := range ranges {
		r.Ranges.Range = append(r.Ranges.Range, &mesospb.Value_Range{Begin: proto.Uint64(b[0]), End: proto.Uint64(b[1])})
	}
	return r
}

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{
			name: "framework info with defaults written out",
			msg: &mesospb.FrameworkInfo{
				User:         proto.String("root"),
				Name:         proto.String("marathon"),
				Roles:        []string{"*", "ops"},
				Capabilities: []*mesospb.FrameworkInfo_Capability{{Type: mesospb.FrameworkInfo_Capability_MULTI_ROLE.Enum()}},
			},
			want: `{"user":"root","name":"marathon","failover_timeout":0.0,"checkpoint":false,"role":"*",` +
				`"capabilities":[{"type":"MULTI_ROLE"}],"roles":["*","ops"]}`,
		},
		{
			name: "framework info with values set",
			msg: &mesospb.FrameworkInfo{
				User:            proto.String("nobody"),
				Name:            proto.String("jobs"),
				Id:              &mesospb.FrameworkID{Value: proto.String("m1-0000")},
				FailoverTimeout: proto.Float64(604800),
				Checkpoint:      proto.Bool(true),
				Hostname:        proto.String("host\"1"),
			},
			want: `{"user":"nobody","name":"jobs","id":{"value":"m1-0000"},"failover_timeout":604800.0,` +
				`"checkpoint":true,"role":"*","hostname":"host\"1"}`,
		},
		{
			name: "resource with ranges as numbers",
			msg:  portsRes([2]uint64{31000, 31000}, [2]uint64{31005, 18446744073709551615}),
			want: `{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000},` +
				`{"begin":31005,"end":18446744073709551615}]},"role":"*"}`,
		},
		{
			name: "task info",
			msg: &mesospb.TaskInfo{
				Name:      proto.String("web"),
				TaskId:    &mesospb.TaskID{Value: proto.String("web.1")},
				AgentId:   &mesospb.AgentID{Value: proto.String("m1-S0")},
				Resources: []*mesospb.Resource{scalarRes("cpus", 0.1), scalarRes("mem", 128)},
				Command: &mesospb.CommandInfo{
					Value: proto.String("sleep 10"),
					Uris:  []*mesospb.CommandInfo_URI{{Value: proto.String("http://x/a.tgz")}},
				},
				Data: []byte{0, 1, 2, 0xff},
				Limits: map[string]*mesospb.Value_Scalar{
					"mem":  {Value: proto.Float64(256)},
					"cpus": {Value: proto.Float64(math.Inf(1))},
				},
				KillPolicy: &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(5000000000)}},
			},
			want: `{"name":"web","task_id":{"value":"web.1"},"agent_id":{"value":"m1-S0"},"resources":[` +
				`{"name":"cpus","type":"SCALAR","scalar":{"value":0.1},"role":"*"},` +
				`{"name":"mem","type":"SCALAR","scalar":{"value":128.0},"role":"*"}],` +
				`"data":"AAEC/w==",` +
				`"command":{"uris":[{"value":"http://x/a.tgz","extract":true}],"value":"sleep 10","shell":true},` +
				`"kill_policy":{"grace_period":{"nanoseconds":5000000000}},` +
				`"limits":{"cpus":{"value":"Infinity"},"mem":{"value":256.0}}}`,
		},
		{
			name: "offer",
			msg: &mesospb.Offer{
				Id:          &mesospb.OfferID{Value: proto.String("m1-O7")},
				FrameworkId: &mesospb.FrameworkID{Value: proto.String("m1-0000")},
				AgentId:     &mesospb.AgentID{Value: proto.String("m1-S0")},
				Hostname:    proto.String("a1"),
				Resources:   []*mesospb.Resource{scalarRes("cpus", 2), portsRes([2]uint64{31000, 32000})},
				Attributes: []*mesospb.Attribute{{
					Name: proto.String("rack"),
					Type: mesospb.Value_TEXT.Enum(),
					Text: &mesospb.Value_Text{Value: proto.String("r1")},
				}},
				AllocationInfo: &mesospb.Resource_AllocationInfo{Role: proto.String("*")},
			},
			want: `{"id":{"value":"m1-O7"},"framework_id":{"value":"m1-0000"},"agent_id":{"value":"m1-S0"},` +
				`"hostname":"a1","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":2.0},"role":"*"},` +
				`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"role":"*"}],` +
				`"attributes":[{"name":"rack","type":"TEXT","text":{"value":"r1"}}],` +
				`"allocation_info":{"role":"*"}}`,
		},
		{
			name: "empty message",
			msg:  &mesospb.Labels{},
			want: `{}`,
		},
		{
			name: "typed nil message",
			msg:  (*mesospb.Labels)(nil),
			want: `{}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarshalJSON(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Fatal("output is not valid JSON")
			}
			// Deterministic: a second encoding is identical.
			again, _ := MarshalJSON(tc.msg)
			if string(again) != string(got) {
				t.Fatal("output not deterministic")
			}
		})
	}
}

func TestMarshalFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{5, "5.0"},
		{-5, "-5.0"},
		{0.1, "0.1"},
		{2.5, "2.5"},
		{3600000, "3600000.0"},
		{1e20, "100000000000000000000.0"},
		{1e21, "1e+21"},
		{1.5e300, "1.5e+300"},
		{1e-6, "0.000001"},
		{1e-7, "1e-7"},
		{-2.5e-10, "-2.5e-10"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, "5e-324"},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	}
	for _, tc := range tests {
		got := string(appendFloat(nil, tc.in, 64))
		if got != tc.want {
			t.Errorf("appendFloat(%v) = %s, want %s", tc.in, got, tc.want)
		}
		// Every non-string output is a number for encoding/json.
		if !strings.HasPrefix(got, `"`) {
			var f float64
			if err := json.Unmarshal([]byte(got), &f); err != nil || f != tc.in {
				t.Errorf("encoding/json reads %s as %v, %v", got, f, err)
			}
		}
	}
	if got := string(appendFloat(nil, float64(float32(0.1)), 32)); got != "0.1" {
		t.Errorf("float32 0.1 = %s", got)
	}
}

func TestMarshalString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\", `"q\"b\\"`},
		{"a\nb\tc\r\x01\x1f", `"a\nb\tc\r\u0001\u001f"`},
		{"héllo ☃ 😀", `"h\u00e9llo \u2603 \ud83d\ude00"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"<&>", `"<&>"`},
	}
	for _, tc := range tests {
		got := string(appendString(nil, tc.in))
		if got != tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		for i := 0; i < len(got); i++ {
			if got[i] >= 0x80 {
				t.Errorf("appendString(%q) = %s: byte %d is not ASCII; clients compare byte and character lengths", tc.in, got, i)
				break
			}
		}
		var s string
		if err := json.Unmarshal([]byte(got), &s); err != nil {
			t.Errorf("encoding/json rejects %s: %v", got, err)
		}
	}
}

// TestRangesDecodeWithEncodingJSON is the compatibility promise to clients
// that decode with strict typed decoders.
func TestRangesDecodeWithEncodingJSON(t *testing.T) {
	b, err := MarshalJSON(portsRes([2]uint64{31000, 32000}, [2]uint64{1 << 40, 1<<40 + 5}))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Name   string `json:"name"`
		Ranges struct {
			Range []struct {
				Begin uint64 `json:"begin"`
				End   uint64 `json:"end"`
			} `json:"range"`
		} `json:"ranges"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("encoding/json: %v (input %s)", err, b)
	}
	if len(res.Ranges.Range) != 2 || res.Ranges.Range[0].Begin != 31000 || res.Ranges.Range[1].End != 1<<40+5 {
		t.Fatalf("decoded %+v", res)
	}

	st, err := MarshalJSON(&mesospb.TimeInfo{Nanoseconds: proto.Int64(-1234567890123456789)})
	if err != nil {
		t.Fatal(err)
	}
	var ti struct {
		Nanoseconds int64 `json:"nanoseconds"`
	}
	if err := json.Unmarshal(st, &ti); err != nil || ti.Nanoseconds != -1234567890123456789 {
		t.Fatalf("TimeInfo %s: %v %v", st, ti, err)
	}
}

func TestUnmarshalLenient(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  proto.Message
		want proto.Message
	}{
		{
			name: "unknown keys ignored, nested ones too",
			in:   `{"user":"u","name":"n","bogus":{"a":[1,{"b":null}],"c":"x"},"zzz":[true,false,null,-1.5e3]}`,
			msg:  &mesospb.FrameworkInfo{},
			want: &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("n")},
		},
		{
			name: "null means unset",
			in:   `{"user":"u","name":"n","hostname":null,"id":null,"roles":null,"labels":null,"checkpoint":null}`,
			msg:  &mesospb.FrameworkInfo{},
			want: &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("n")},
		},
		{
			name: "exponent number into a double",
			in:   `{"user":"u","name":"n","failover_timeout":3.6e+06}`,
			msg:  &mesospb.FrameworkInfo{},
			want: &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("n"), FailoverTimeout: proto.Float64(3.6e6)},
		},
		{
			name: "exponent and fraction into integers",
			in:   `{"ranges":{"range":[{"begin":3.1e4,"end":32000.0}]},"name":"ports","type":"RANGES"}`,
			msg:  &mesospb.Resource{},
			want: portsRes([2]uint64{31000, 32000}),
		},
		{
			name: "numbers as strings",
			in:   `{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"31000","end":" 32000 "}]}}`,
			msg:  &mesospb.Resource{},
			want: portsRes([2]uint64{31000, 32000}),
		},
		{
			name: "double as string",
			in:   `{"name":"cpus","type":"SCALAR","scalar":{"value":"0.5"}}`,
			msg:  &mesospb.Resource{},
			want: scalarRes("cpus", 0.5),
		},
		{
			name: "infinity for a double",
			in:   `{"name":"cpus","type":"SCALAR","scalar":{"value":"Infinity"}}`,
			msg:  &mesospb.Resource{},
			want: scalarRes("cpus", math.Inf(1)),
		},
		{
			name: "negative infinity",
			in:   `{"name":"cpus","type":"SCALAR","scalar":{"value":"-Infinity"}}`,
			msg:  &mesospb.Resource{},
			want: scalarRes("cpus", math.Inf(-1)),
		},
		{
			name: "camelCase aliases",
			in:   `{"user":"u","name":"n","failoverTimeout":10,"webuiUrl":"http://x"}`,
			msg:  &mesospb.FrameworkInfo{},
			want: &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("n"), FailoverTimeout: proto.Float64(10), WebuiUrl: proto.String("http://x")},
		},
		{
			name: "unknown enum in optional field dropped",
			in:   `{"capabilities":[{"type":"TELEPORTATION"},{"type":"MULTI_ROLE"}],"user":"u","name":"n"}`,
			msg:  &mesospb.FrameworkInfo{},
			want: &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("n"), Capabilities: []*mesospb.FrameworkInfo_Capability{
				{}, {Type: mesospb.FrameworkInfo_Capability_MULTI_ROLE.Enum()},
			}},
		},
		{
			name: "unknown enum in repeated field dropped",
			in:   `{"capabilities":["CHOWN","TIME_TRAVEL","NET_ADMIN"]}`,
			msg:  &mesospb.CapabilityInfo{},
			want: &mesospb.CapabilityInfo{Capabilities: []mesospb.CapabilityInfo_Capability{mesospb.CapabilityInfo_CHOWN, mesospb.CapabilityInfo_NET_ADMIN}},
		},
		{
			name: "bytes std, url-safe and unpadded",
			in:   `{"task_id":{"value":"t"},"agent_id":{"value":"a"},"name":"n","data":"-_8"}`,
			msg:  &mesospb.TaskInfo{},
			want: &mesospb.TaskInfo{TaskId: &mesospb.TaskID{Value: proto.String("t")}, AgentId: &mesospb.AgentID{Value: proto.String("a")}, Name: proto.String("n"), Data: []byte{0xfb, 0xff}},
		},
		{
			name: "bool as string, whitespace everywhere",
			in:   " {\n\t\"value\" : \"x\" , \"shell\" : \"false\" }\r\n",
			msg:  &mesospb.CommandInfo{},
			want: &mesospb.CommandInfo{Value: proto.String("x"), Shell: proto.Bool(false)},
		},
		{
			name: "null elements in arrays skipped",
			in:   `{"arguments":["a",null,"b"]}`,
			msg:  &mesospb.CommandInfo{},
			want: &mesospb.CommandInfo{Arguments: []string{"a", "b"}},
		},
		{
			name: "map with null entry",
			in:   `{"task_id":{"value":"t"},"agent_id":{"value":"a"},"name":"n","limits":{"cpus":{"value":1},"mem":null}}`,
			msg:  &mesospb.TaskInfo{},
			want: &mesospb.TaskInfo{TaskId: &mesospb.TaskID{Value: proto.String("t")}, AgentId: &mesospb.AgentID{Value: proto.String("a")}, Name: proto.String("n"),
				Limits: map[string]*mesospb.Value_Scalar{"cpus": {Value: proto.Float64(1)}}},
		},
		{
			name: "escapes and surrogate pairs",
			in:   `{"value":"a\u00e9\ud83d\ude00\n\/\"","user":"\ud800x"}`,
			msg:  &mesospb.CommandInfo{},
			want: &mesospb.CommandInfo{Value: proto.String("aé😀\n/\""), User: proto.String("\uFFFDx")},
		},
		{
			name: "last duplicate key wins",
			in:   `{"value":"a","value":"b","arguments":["x"],"arguments":["y","z"]}`,
			msg:  &mesospb.CommandInfo{},
			want: &mesospb.CommandInfo{Value: proto.String("b"), Arguments: []string{"y", "z"}},
		},
		{
			name: "null document",
			in:   `null`,
			msg:  &mesospb.CommandInfo{},
			want: &mesospb.CommandInfo{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := UnmarshalJSON([]byte(tc.in), tc.msg); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(tc.msg, tc.want) {
				t.Fatalf("got  %v\nwant %v", tc.msg, tc.want)
			}
		})
	}
}

func TestNilTargets(t *testing.T) {
	var typedNil *mesospb.Labels
	for _, c := range []Codec{JSON, Protobuf} {
		if err := c.Unmarshal([]byte("{}"), typedNil); err == nil {
			t.Errorf("%s: typed nil accepted", c)
		}
		if err := c.Unmarshal([]byte("{}"), nil); err == nil {
			t.Errorf("%s: nil accepted", c)
		}
	}
	if _, err := MarshalJSON(nil); err == nil {
		t.Error("MarshalJSON(nil) accepted")
	}
	if err := CheckRequired(nil); err == nil {
		t.Error("CheckRequired(nil) accepted")
	}
	if err := CheckRequired((*mesospb.FrameworkInfo)(nil)); !errors.Is(err, ErrRequiredFieldMissing) {
		t.Errorf("CheckRequired(typed nil) = %v", err)
	}
}

func TestUnmarshalReplacesContents(t *testing.T) {
	m := &mesospb.CommandInfo{Value: proto.String("old"), Arguments: []string{"x"}}
	if err := UnmarshalJSON([]byte(`{"user":"u"}`), m); err != nil {
		t.Fatal(err)
	}
	if m.Value != nil || len(m.Arguments) != 0 || m.GetUser() != "u" {
		t.Fatalf("got %v", m)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth+5) + "1" + strings.Repeat("}", MaxDepth+5)
	deepArr := `{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}"
	tests := []struct {
		name    string
		in      string
		msg     proto.Message
		is      error
		message string // substring of the error text
	}{
		{"required field missing", `{"user":"u"}`, &mesospb.FrameworkInfo{}, ErrRequiredFieldMissing, "codec: name: required field missing"},
		{"nested required missing", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}}`, &schedulerpb.Call{}, ErrRequiredFieldMissing, "codec: subscribe.framework_info.user: required field missing"},
		{"required in list", `{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":2},{"begin":3}]}}`, &mesospb.Resource{}, ErrRequiredFieldMissing, "codec: ranges.range[1].end: required field missing"},
		{"required in map value", `{"task_id":{"value":"t"},"agent_id":{"value":"a"},"name":"n","limits":{"cpus":{}}}`, &mesospb.TaskInfo{}, ErrRequiredFieldMissing, `codec: limits["cpus"].value: required field missing`},
		{"required set to null", `{"user":null,"name":"n"}`, &mesospb.FrameworkInfo{}, ErrRequiredFieldMissing, "codec: user: required field missing"},
		{"unknown enum in required field", `{"name":"cpus","type":"FLOATING"}`, &mesospb.Resource{}, ErrInvalidValue, `codec: type: invalid value: unknown mesos.v1.Value.Type value "FLOATING" in a required field`},
		{"enum as number", `{"name":"cpus","type":0}`, &mesospb.Resource{}, ErrInvalidValue, "codec: type: invalid value: expected an enum value name, got a number"},
		{"fractional integer", `{"nanoseconds":1.5}`, &mesospb.TimeInfo{}, ErrInvalidValue, "codec: nanoseconds: invalid value: 1.5 is not an integer"},
		{"int32 overflow", `{"port":2147483648}`, &mesospb.AgentInfo{}, ErrInvalidValue, "out of range"},
		{"uint32 overflow", `{"hostname":"h","port":4294967296}`, &mesospb.MasterInfo{}, ErrInvalidValue, "port: invalid value"},
		{"negative uint", `{"begin":-1,"end":2}`, &mesospb.Value_Range{}, ErrInvalidValue, "begin: invalid value"},
		{"uint64 overflow", `{"begin":18446744073709551616,"end":2}`, &mesospb.Value_Range{}, ErrInvalidValue, "out of range"},
		{"non-numeric string", `{"begin":"abc","end":2}`, &mesospb.Value_Range{}, ErrInvalidValue, `expected an integer, got "abc"`},
		{"double overflow", `{"value":1e400}`, &mesospb.Value_Scalar{}, ErrInvalidValue, "out of range"},
		{"bool from number", `{"shell":1}`, &mesospb.CommandInfo{}, ErrInvalidValue, "expected a boolean"},
		{"string from number", `{"value":5}`, &mesospb.CommandInfo{}, ErrInvalidValue, "expected a string, got a number"},
		{"message from string", `{"environment":"x"}`, &mesospb.CommandInfo{}, ErrInvalidValue, "codec: environment: invalid value: expected an object"},
		{"list from object", `{"arguments":{}}`, &mesospb.CommandInfo{}, ErrInvalidValue, "expected an array"},
		{"bad base64", `{"task_id":{"value":"t"},"agent_id":{"value":"a"},"name":"n","data":"!!!"}`, &mesospb.TaskInfo{}, ErrInvalidValue, "data: invalid value: invalid base64"},
		{"top level array", `[]`, &mesospb.CommandInfo{}, ErrInvalidValue, "expected an object"},
		{"empty input", ``, &mesospb.CommandInfo{}, ErrSyntax, "unexpected end of input"},
		{"trailing data", `{} {}`, &mesospb.CommandInfo{}, ErrSyntax, "after the top-level value"},
		{"truncated", `{"value":"abc`, &mesospb.CommandInfo{}, ErrSyntax, "invalid string"},
		{"missing colon", `{"value" "x"}`, &mesospb.CommandInfo{}, ErrSyntax, "expected ':'"},
		{"trailing comma", `{"value":"x",}`, &mesospb.CommandInfo{}, ErrSyntax, "expected an object key"},
		{"bad literal", `{"shell":tru}`, &mesospb.CommandInfo{}, ErrSyntax, "codec: shell: invalid JSON at offset 9: invalid literal"},
		{"bad literal in unknown", `{"zzz":nul}`, &mesospb.CommandInfo{}, ErrSyntax, "invalid literal"},
		{"leading zero", `{"zzz":01}`, &mesospb.CommandInfo{}, ErrSyntax, "invalid number"},
		{"control char in string", "{\"value\":\"a\x01\"}", &mesospb.CommandInfo{}, ErrSyntax, "invalid string"},
		{"bad escape", `{"value":"\x"}`, &mesospb.CommandInfo{}, ErrSyntax, "invalid string"},
		{"too deep unknown", deep, &mesospb.CommandInfo{}, ErrTooDeep, "nesting too deep"},
		{"too deep array", deepArr, &mesospb.CommandInfo{}, ErrTooDeep, "nesting too deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := UnmarshalJSON([]byte(tc.in), tc.msg)
			if err == nil {
				t.Fatalf("no error; decoded %v", tc.msg)
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.message)
			}
		})
	}
}

func TestDeepMessageNesting(t *testing.T) {
	// Known fields nest too: ContainerInfo has no recursion, but a chain of
	// unknown-free nesting beyond MaxDepth through lists still fails cleanly.
	in := `{"uris":[` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `]}`
	err := UnmarshalJSON([]byte(in), &mesospb.CommandInfo{})
	if err == nil {
		t.Fatal("expected an error")
	}
}

func TestRoundTrip(t *testing.T) {
	msgs := []proto.Message{
		&schedulerpb.Call{
			FrameworkId: &mesospb.FrameworkID{Value: proto.String("m1-0001")},
			Type:        schedulerpb.Call_ACCEPT.Enum(),
			Accept: &schedulerpb.Call_Accept{
				OfferIds: []*mesospb.OfferID{{Value: proto.String("m1-O1")}},
				Operations: []*mesospb.Offer_Operation{{
					Type: mesospb.Offer_Operation_LAUNCH.Enum(),
					Launch: &mesospb.Offer_Operation_Launch{TaskInfos: []*mesospb.TaskInfo{{
						Name:      proto.String("t"),
						TaskId:    &mesospb.TaskID{Value: proto.String("t1")},
						AgentId:   &mesospb.AgentID{Value: proto.String("m1-S1")},
						Resources: []*mesospb.Resource{scalarRes("cpus", 0.25), portsRes([2]uint64{31000, 31001})},
						Command:   &mesospb.CommandInfo{Shell: proto.Bool(false), Value: proto.String("/bin/echo"), Arguments: []string{"echo", "hi"}},
						Data:      []byte("\x00payload\xff"),
					}}},
				}},
				Filters: &mesospb.Filters{RefuseSeconds: proto.Float64(math.Inf(1))},
			},
		},
		&executorpb.Call{
			ExecutorId:  &mesospb.ExecutorID{Value: proto.String("e")},
			FrameworkId: &mesospb.FrameworkID{Value: proto.String("f")},
			Type:        executorpb.Call_UPDATE.Enum(),
			Update: &executorpb.Call_Update{Status: &mesospb.TaskStatus{
				TaskId:    &mesospb.TaskID{Value: proto.String("t1")},
				State:     mesospb.TaskState_TASK_RUNNING.Enum(),
				Source:    mesospb.TaskStatus_SOURCE_EXECUTOR.Enum(),
				Timestamp: proto.Float64(1700000000.123456),
				Uuid:      []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
				Message:   proto.String("line1\nline2 \u2028 ☃"),
			}},
		},
		&mesospb.Value_Scalar{Value: proto.Float64(math.NaN())},
	}
	for _, m := range msgs {
		t.Run(string(m.ProtoReflect().Descriptor().FullName()), func(t *testing.T) {
			for _, c := range []Codec{JSON, Protobuf} {
				b, err := c.Marshal(m)
				if err != nil {
					t.Fatalf("%s marshal: %v", c, err)
				}
				got := m.ProtoReflect().New().Interface()
				if err := c.Unmarshal(b, got); err != nil {
					t.Fatalf("%s unmarshal: %v\n%s", c, err, b)
				}
				// JSON writes defaults out, so compare re-encodings; protobuf
				// must round-trip exactly.
				again, err := c.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if string(again) != string(b) {
					t.Fatalf("%s not stable:\n%s\n%s", c, b, again)
				}
				if c == Protobuf && !proto.Equal(m, got) && !isNaNScalar(m) {
					t.Fatalf("protobuf round trip differs: %v vs %v", m, got)
				}
			}
		})
	}
}

func isNaNScalar(m proto.Message) bool {
	s, ok := m.(*mesospb.Value_Scalar)
	return ok && math.IsNaN(s.GetValue())
}

func TestCodecMarshalChecksRequired(t *testing.T) {
	m := &mesospb.FrameworkInfo{User: proto.String("u")}
	for _, c := range []Codec{JSON, Protobuf} {
		if _, err := c.Marshal(m); !errors.Is(err, ErrRequiredFieldMissing) || !strings.Contains(err.Error(), "name") {
			t.Errorf("%s: err = %v", c, err)
		}
	}
	// MarshalJSON itself is a formatter and accepts partial messages.
	if b, err := MarshalJSON(m); err != nil || !strings.Contains(string(b), `"user":"u"`) {
		t.Errorf("MarshalJSON partial: %s %v", b, err)
	}
	if _, err := (Codec{}).Marshal(m); err == nil {
		t.Error("zero Codec marshalled")
	}
	if err := (Codec{}).Unmarshal(nil, m); err == nil {
		t.Error("zero Codec unmarshalled")
	}
}

func TestUnmarshalProtobuf(t *testing.T) {
	full := &mesospb.FrameworkInfo{User: proto.String("u"), Name: proto.String("n")}
	b, err := proto.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	// Unknown field 99 (varint 1) is kept.
	withUnknown := append(append([]byte{}, b...), 0x98, 0x06, 0x01)
	got := &mesospb.FrameworkInfo{}
	if err := UnmarshalProtobuf(withUnknown, got); err != nil {
		t.Fatal(err)
	}
	if len(got.ProtoReflect().GetUnknown()) == 0 {
		t.Error("unknown field dropped")
	}
	partial, _ := proto.MarshalOptions{AllowPartial: true}.Marshal(&mesospb.FrameworkInfo{User: proto.String("u")})
	if err := UnmarshalProtobuf(partial, &mesospb.FrameworkInfo{}); !errors.Is(err, ErrRequiredFieldMissing) || err.Error() != "codec: name: required field missing" {
		t.Errorf("partial: %v", err)
	}
	if err := UnmarshalProtobuf([]byte{0xff, 0xff, 0xff}, &mesospb.FrameworkInfo{}); err == nil || !strings.HasPrefix(err.Error(), "codec: unmarshal protobuf: ") {
		t.Errorf("garbage: %v", err)
	}
}

func BenchmarkMarshalJSONOffer(b *testing.B) {
	offer := &mesospb.Offer{
		Id:          &mesospb.OfferID{Value: proto.String("m1-O7")},
		FrameworkId: &mesospb.FrameworkID{Value: proto.String("m1-0000")},
		AgentId:     &mesospb.AgentID{Value: proto.String("m1-S0")},
		Hostname:    proto.String("a1"),
		Resources:   []*mesospb.Resource{scalarRes("cpus", 2), scalarRes("mem", 1024), scalarRes("disk", 4096), portsRes([2]uint64{31000, 32000})},
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendJSON(buf[:0], offer)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalJSONOffer(b *testing.B) {
	offer := &mesospb.Offer{
		Id:          &mesospb.OfferID{Value: proto.String("m1-O7")},
		FrameworkId: &mesospb.FrameworkID{Value: proto.String("m1-0000")},
		AgentId:     &mesospb.AgentID{Value: proto.String("m1-S0")},
		Hostname:    proto.String("a1"),
		Resources:   []*mesospb.Resource{scalarRes("cpus", 2), scalarRes("mem", 1024), scalarRes("disk", 4096), portsRes([2]uint64{31000, 32000})},
	}
	data, _ := MarshalJSON(offer)
	b.ReportAllocs()
	for b.Loop() {
		if err := UnmarshalJSON(data, &mesospb.Offer{}); err != nil {
			b.Fatal(err)
		}
	}
}
