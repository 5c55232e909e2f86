package resources

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

func TestArithmetic(t *testing.T) {
	tests := []struct {
		name       string
		a, b       string
		sum, diff  string
		aContainsB bool
		equal      bool
	}{
		{"scalars", "cpus:2;mem:1024", "cpus:0.5;mem:24", "cpus:2.5; mem:1048", "cpus:1.5; mem:1000", true, false},
		{"precision", "cpus:0.3", "cpus:0.1;cpus:0.2", "cpus:0.6", "", true, true},
		{"fixed point", "cpus:0.0004", "cpus:0.0001", "", "", true, true},
		{"subtract below zero", "cpus:1", "cpus:3", "cpus:4", "", false, false},
		{"ranges", "ports:[1-10]", "ports:[3-4, 11-12]", "ports:[1-12]", "ports:[1-2, 5-10]", false, false},
		{"sets", "z:{a,b}", "z:{b,c}", "z:{a, b, c}", "z:{a}", false, false},
		{"roles differ", "cpus(ops):2", "cpus:1", "cpus(ops):2; cpus:1", "cpus(ops):2", false, false},
		{"same role", "cpus(ops):2", "cpus(ops):1", "cpus(ops):3", "cpus(ops):1", true, false},
		{"missing name", "cpus:1", "gpus:1", "cpus:1; gpus:1", "cpus:1", false, false},
		{"equal split differently", "ports:[1-5];cpus:1", "cpus:0.5;ports:[1-2];cpus:0.5;ports:[3-5]", "ports:[1-5]; cpus:2", "", true, true},
		{"empty b", "cpus:1", "", "cpus:1", "cpus:1", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustParse(t, tc.a), mustParse(t, tc.b)
			aCopy := Clone(a)
			if got := Format(Add(a, b)); got != tc.sum {
				t.Errorf("Add = %q, want %q", got, tc.sum)
			}
			if got := Format(Subtract(a, b)); got != tc.diff {
				t.Errorf("Subtract = %q, want %q", got, tc.diff)
			}
			if got := Contains(a, b); got != tc.aContainsB {
				t.Errorf("Contains = %v", got)
			}
			if got := Equal(a, b); got != tc.equal {
				t.Errorf("Equal = %v", got)
			}
			if !Contains(Add(a, b), b) || !Contains(Add(a, b), a) {
				t.Error("a+b must contain a and b")
			}
			for i := range a {
				if !proto.Equal(a[i], aCopy[i]) {
					t.Fatal("argument modified")
				}
			}
		})
	}
}

func TestAddIgnoresInvalid(t *testing.T) {
	bad := NewScalar("cpus", -1)
	nan := NewScalar("mem", math.NaN())
	got := Add([]*mesospb.Resource{NewScalar("cpus", 1)}, []*mesospb.Resource{bad, nan, nil, NewScalar("cpus", 0)})
	if Format(got) != "cpus:1" {
		t.Fatalf("got %s", Format(got))
	}
	if Contains([]*mesospb.Resource{NewScalar("cpus", 1)}, []*mesospb.Resource{NewScalar("cpus", 2)}) {
		t.Fatal("1 cpu contains 2")
	}
}

func TestLegacyAndRefinedFormatsMerge(t *testing.T) {
	legacy := NewScalar("cpus", 1)
	legacy.Role = proto.String("ops") //nolint:staticcheck // legacy wire field
	refined := NewScalar("cpus", 2)
	refined.Reservations = []*mesospb.Resource_ReservationInfo{{
		Type: mesospb.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String("ops"),
	}}
	sum := Add([]*mesospb.Resource{legacy}, []*mesospb.Resource{refined})
	if len(sum) != 1 || Scalar(sum, "cpus") != 3 {
		t.Fatalf("got %s", Format(sum))
	}
	// A dynamic reservation is a different kind from a static one.
	dyn := NewScalar("cpus", 1)
	dyn.Reservations = []*mesospb.Resource_ReservationInfo{{
		Type: mesospb.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String("ops"), Principal: proto.String("p"),
	}}
	if got := Add(sum, []*mesospb.Resource{dyn}); len(got) != 2 {
		t.Fatalf("dynamic merged with static: %v", got)
	}
}

func persistentVolume(id string, size float64) *mesospb.Resource {
	r := NewScalar("disk", size)
	r.Reservations = []*mesospb.Resource_ReservationInfo{{Type: mesospb.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String("db")}}
	r.Disk = &mesospb.Resource_DiskInfo{Persistence: &mesospb.Resource_DiskInfo_Persistence{Id: proto.String(id)}}
	return r
}

func TestExclusiveResources(t *testing.T) {
	v1, v2 := persistentVolume("v1", 100), persistentVolume("v1", 100)
	sum := Add([]*mesospb.Resource{v1}, []*mesospb.Resource{v2})
	if len(sum) != 2 {
		t.Fatalf("persistent volumes merged: %d entries", len(sum))
	}
	// Only an identical volume can be subtracted.
	if got := Subtract(sum, []*mesospb.Resource{persistentVolume("v1", 50)}); len(got) != 2 {
		t.Fatalf("partial volume subtracted: %d entries", len(got))
	}
	if got := Subtract(sum, []*mesospb.Resource{persistentVolume("v1", 100)}); len(got) != 1 {
		t.Fatalf("volume not subtracted: %d entries", len(got))
	}
	if !Contains(sum, []*mesospb.Resource{v1, v2}) || Contains([]*mesospb.Resource{v1}, []*mesospb.Resource{v1, v2}) {
		t.Fatal("volume counting wrong")
	}
	if Contains([]*mesospb.Resource{v1}, []*mesospb.Resource{persistentVolume("v2", 100)}) {
		t.Fatal("different volume ids compared equal")
	}
	// The volume (how a task mounts it) does not change identity.
	v3 := persistentVolume("v1", 100)
	v3.Disk.Volume = &mesospb.Volume{ContainerPath: proto.String("data"), Mode: mesospb.Volume_RW.Enum()}
	if !Equal([]*mesospb.Resource{v1}, []*mesospb.Resource{v3}) {
		t.Fatal("volume info changed identity")
	}
}

func TestScalarQuantitiesNames(t *testing.T) {
	rs := mustParse(t, "cpus:1.5;cpus(ops):0.25;mem:100;ports:[1-10, 20-29];zones:{a,b,c}")
	if got := Scalar(rs, "cpus"); got != 1.75 {
		t.Errorf("Scalar = %v", got)
	}
	if got := Scalar(rs, "gpus"); got != 0 {
		t.Errorf("Scalar(gpus) = %v", got)
	}
	q := Quantities(rs)
	want := map[string]float64{"cpus": 1.75, "mem": 100, "ports": 20, "zones": 3}
	for k, v := range want {
		if q[k] != v {
			t.Errorf("Quantities[%s] = %v, want %v", k, q[k], v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("Quantities = %v", q)
	}
	if got := strings.Join(Names(rs), ","); got != "cpus,mem,ports,zones" {
		t.Errorf("Names = %s", got)
	}
	if got := FormatRanges(Ranges(rs, "ports")); got != "[1-10, 20-29]" {
		t.Errorf("Ranges = %s", got)
	}
	if got := FormatSet(Set(rs, "zones")); got != "{a, b, c}" {
		t.Errorf("Set = %s", got)
	}
}

func TestFilters(t *testing.T) {
	rs := mustParse(t, "cpus:1;cpus(eng):2;cpus(ops):4;mem(eng/web):8")
	rev := NewScalar("cpus", 16)
	rev.Revocable = &mesospb.Resource_RevocableInfo{}
	rs = append(rs, rev)
	tests := []struct {
		name string
		got  []*mesospb.Resource
		want string
	}{
		{"unreserved", UnreservedOnly(rs), "cpus:1; cpus:16"},
		{"reserved any", Reserved(rs, ""), "cpus(eng):2; cpus(ops):4; mem(eng/web):8"},
		{"reserved eng", Reserved(rs, "eng"), "cpus(eng):2"},
		{"allocatable to eng/web", AllocatableTo(rs, "eng/web"), "cpus:1; cpus(eng):2; mem(eng/web):8; cpus:16"},
		{"allocatable to engineering", AllocatableTo(rs, "engineering"), "cpus:1; cpus:16"},
		{"revocable", Revocable(rs), "cpus:16"},
		{"non-revocable", NonRevocable(rs), "cpus:1; cpus(eng):2; cpus(ops):4; mem(eng/web):8"},
		{"named", Named(rs, "mem"), "mem(eng/web):8"},
	}
	for _, tc := range tests {
		if got := Format(tc.got); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, got, tc.want)
		}
	}
	by := ReservedByRole(rs)
	if len(by) != 3 || Scalar(by["ops"], "cpus") != 4 {
		t.Errorf("ReservedByRole = %v", by)
	}
}

func TestAllocationHelpers(t *testing.T) {
	rs := mustParse(t, "cpus:1;mem:2")
	alloc := Allocate(rs, "web")
	for _, r := range alloc {
		if AllocationRole(r) != "web" {
			t.Fatalf("allocation role = %q", AllocationRole(r))
		}
	}
	if rs[0].AllocationInfo != nil {
		t.Fatal("Allocate modified its argument")
	}
	// Allocated and unallocated resources are different kinds.
	if Equal(alloc, rs) {
		t.Fatal("allocation ignored by Equal")
	}
	if !Equal(Unallocate(alloc), rs) {
		t.Fatal("Unallocate did not restore")
	}
	groups := Allocations(append(alloc, Allocate(mustParse(t, "cpus:3"), "db")...))
	if Scalar(groups["web"], "cpus") != 1 || Scalar(groups["db"], "cpus") != 3 {
		t.Fatalf("Allocations = %v", groups)
	}
}

func TestRefinementFormats(t *testing.T) {
	dynLegacy := NewScalar("cpus", 1)
	dynLegacy.Role = proto.String("ops") //nolint:staticcheck // legacy wire field
	dynLegacy.Reservation = &mesospb.Resource_ReservationInfo{Principal: proto.String("alice")}
	rs := append(mustParse(t, "mem:5;disk(eng):7"), dynLegacy)

	post := ToPostRefinement(rs)
	for _, r := range post {
		if r.Role != nil || r.Reservation != nil { //nolint:staticcheck
			t.Fatalf("legacy fields left: %v", r)
		}
	}
	if len(post[0].Reservations) != 0 {
		t.Fatal("unreserved resource got a reservation")
	}
	if s := post[2].Reservations; len(s) != 1 || s[0].GetType() != mesospb.Resource_ReservationInfo_DYNAMIC || s[0].GetPrincipal() != "alice" || s[0].GetRole() != "ops" {
		t.Fatalf("dynamic reservation = %v", s)
	}
	if !Equal(post, rs) {
		t.Fatal("format conversion changed identity")
	}

	pre := ToPreRefinement(post)
	for _, r := range pre {
		if len(r.Reservations) != 0 || r.Role == nil { //nolint:staticcheck
			t.Fatalf("not legacy format: %v", r)
		}
	}
	if pre[0].GetRole() != "*" || pre[1].GetRole() != "eng" || pre[1].Reservation != nil { //nolint:staticcheck
		t.Fatalf("static roles wrong: %v %v", pre[0], pre[1])
	}
	if pre[2].GetRole() != "ops" || pre[2].GetReservation().GetPrincipal() != "alice" { //nolint:staticcheck
		t.Fatalf("dynamic legacy wrong: %v", pre[2])
	}
	if !Equal(pre, rs) {
		t.Fatal("round trip changed identity")
	}
}

func TestStateJSON(t *testing.T) {
	rs := mustParse(t, "cpus:1;cpus(ops):0.5;mem:128;ports:[31000-31000];ports(ops):[31005-31006];zones:{a,b};custom:3")
	rev := NewScalar("cpus", 2)
	rev.Revocable = &mesospb.Resource_RevocableInfo{}
	b, err := json.Marshal(StateJSON(append(rs, rev)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cpus":1.5,"cpus_revocable":2,"custom":3,"disk":0,"gpus":0,"mem":128,"ports":"[31000-31000, 31005-31006]","zones":"{a, b}"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	empty, _ := json.Marshal(StateJSON(nil))
	if string(empty) != `{"cpus":0,"disk":0,"gpus":0,"mem":0}` {
		t.Fatalf("empty = %s", empty)
	}
	// Mesos-DNS reads ports as a string.
	var dns struct {
		Ports string `json:"ports"`
	}
	if err := json.Unmarshal(b, &dns); err != nil || dns.Ports == "" {
		t.Fatalf("ports as string: %v %q", err, dns.Ports)
	}
}

func TestValidate(t *testing.T) {
	withType := func(r *mesospb.Resource, f func(*mesospb.Resource)) *mesospb.Resource { f(r); return r }
	tests := []struct {
		name string
		r    *mesospb.Resource
		want string // "" for valid
	}{
		{"valid scalar", NewScalar("cpus", 1), ""},
		{"valid ranges", NewRanges("ports", Range{1, 2}, Range{4, 5}), ""},
		{"valid set", NewSet("z", "a", "b"), ""},
		{"nil", nil, "nil"},
		{"empty name", NewScalar("", 1), "empty name"},
		{"no type", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) { r.Type = nil }), "missing type"},
		{"text type", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) { r.Type = mesospb.Value_TEXT.Enum() }), "unsupported type"},
		{"negative", NewScalar("cpus", -0.5), "negative"},
		{"nan", NewScalar("cpus", math.NaN()), "not finite"},
		{"inf", NewScalar("cpus", math.Inf(1)), "not finite"},
		{"scalar without value", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) { r.Scalar = nil }), "needs a scalar"},
		{"scalar with ranges", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) { r.Ranges = &mesospb.Value_Ranges{} }), "needs a scalar"},
		{"inverted", &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(), Ranges: RangesToProto([]Range{{5, 1}})}, "begin > end"},
		{"overlap", &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(), Ranges: RangesToProto([]Range{{1, 5}, {5, 6}})}, "overlap"},
		{"overlap reversed", &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(), Ranges: RangesToProto([]Range{{5, 9}, {1, 5}})}, "overlap"},
		{"dup set", NewSet("z", "a", "a"), "duplicate set item"},
		{"disk info on cpus", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) { r.Disk = &mesospb.Resource_DiskInfo{} }), "disk info"},
		{"shared non-volume", withType(NewScalar("disk", 1), func(r *mesospb.Resource) { r.Shared = &mesospb.Resource_SharedInfo{} }), "only persistent volumes"},
		{"star reservation", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) {
			r.Reservations = []*mesospb.Resource_ReservationInfo{{Role: proto.String("*")}}
		}), `role "*"`},
		{"dynamic star legacy", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) {
			r.Reservation = &mesospb.Resource_ReservationInfo{}
		}), "cannot be dynamically reserved"},
		{"bad role", withType(NewScalar("cpus", 1), func(r *mesospb.Resource) { r.Role = proto.String("-x") }), "starting with '-'"}, //nolint:staticcheck
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate([]*mesospb.Resource{NewScalar("mem", 1), tc.r})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "resources: resource 1 (") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValidateRole(t *testing.T) {
	for _, ok := range []string{"*", "ops", "eng/web", "a.b", "x-y", "role_1"} {
		if err := ValidateRole(ok); err != nil {
			t.Errorf("ValidateRole(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "-a", "a/", "/a", "a//b", "a/./b", "a b", "a\tb", `a\b`, "a*", "*/a"} {
		if err := ValidateRole(bad); err == nil {
			t.Errorf("ValidateRole(%q) accepted", bad)
		}
	}
}
