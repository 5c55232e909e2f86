package master

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// TestOffersEventDriven runs the master with a one-hour allocation interval: offers must still
// follow an agent registering and resources being freed within moments, so the allocator is
// driven by events and not by the periodic sweep.
func TestOffersEventDriven(t *testing.T) {
	cfg := lcConfig(t)
	cfg.AllocationInterval = time.Hour
	tm := lcStartMaster(t, cfg)
	s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("event-driven"))
	s.none("OFFERS without agents", quietFor, isOffers)

	start := time.Now()
	agent := lcAgent(t, tm.addr, "host-a")
	ev, ok := s.take(3*time.Second, isOffers)
	if !ok {
		t.Fatal("no offer within 3s of the agent registering (allocation interval 1h)")
	}
	t.Logf("offer %v after registration", time.Since(start))
	o := ev.GetOffers().GetOffers()[0]
	if o.GetAgentId().GetValue() != agent.ID() || scalarSum(o.GetResources(), "cpus") != 4 {
		t.Fatalf("offer = %v", o)
	}

	// The unused part of an ACCEPT (refused for 0 s) comes back at once.
	s.running(o, 0, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))
	ev, ok = s.take(3*time.Second, isOffers)
	if !ok {
		t.Fatal("the unused resources of an ACCEPT were not offered again within 3s")
	}
	if got := scalarSum(ev.GetOffers().GetOffers()[0].GetResources(), "cpus"); got != 3 {
		t.Fatalf("leftover offer has %v cpus, want 3", got)
	}

	// Resources freed by a task ending are offered at once.
	start = time.Now()
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_KILL.Enum(), Kill: &schedulerpb.Call_Kill{
		TaskId: &mesospb.TaskID{Value: proto.String("t1")}, AgentId: o.GetAgentId()}})
	s.must("TASK_KILLED", updateWith("t1", mesospb.TaskState_TASK_KILLED))
	ev, ok = s.take(3*time.Second, isOffers)
	if !ok {
		t.Fatal("the resources of a killed task were not offered within 3s")
	}
	t.Logf("offer %v after the kill", time.Since(start))
	if got := scalarSum(ev.GetOffers().GetOffers()[0].GetResources(), "cpus"); got != 1 {
		t.Fatalf("offer of the freed resources has %v cpus, want 1", got)
	}
}

// TestOffersDeclineFilters checks refuse_seconds, REVIVE and the default 5 s filter of a DECLINE
// without filters.
func TestOffersDeclineFilters(t *testing.T) {
	t.Parallel()
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("decliner"))

	// refuse_seconds 1: nothing for a second, then the agent comes back.
	o := s.offer()
	declined := time.Now()
	s.decline(o, refuseFor(1))
	s.none("OFFERS while the 1s filter holds", 700*time.Millisecond, isOffers)
	o = s.offer()
	if d := time.Since(declined); d < 950*time.Millisecond {
		t.Fatalf("re-offered %v after a decline with refuse_seconds 1", d)
	}

	// A long filter is cleared by REVIVE.
	s.decline(o, refuseFor(3600))
	s.none("OFFERS while the 1h filter holds", quietFor, isOffers)
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_REVIVE.Enum(), Revive: &schedulerpb.Call_Revive{}})
	ev, ok := s.take(2*time.Second, isOffers)
	if !ok {
		t.Fatal("REVIVE did not clear the decline filter")
	}

	// No filters at all: the default refuse_seconds of 5.
	o = ev.GetOffers().GetOffers()[0]
	declined = time.Now()
	s.decline(o, nil)
	s.none("OFFERS within the default 5s filter", 3*time.Second, isOffers)
	s.offer()
	if d := time.Since(declined); d < 4900*time.Millisecond {
		t.Fatalf("re-offered %v after a decline without filters; the default filter is 5s", d)
	}
}

// TestOffersSuppressRevive checks that SUPPRESS stops offers and REVIVE resumes them.
func TestOffersSuppressRevive(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("suppressor"))
	o := s.offer()
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_SUPPRESS.Enum(), Suppress: &schedulerpb.Call_Suppress{}})
	s.decline(o, refuseFor(0))
	s.none("OFFERS while suppressed", 700*time.Millisecond, isOffers)
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_REVIVE.Enum(), Revive: &schedulerpb.Call_Revive{}})
	if _, ok := s.take(2*time.Second, isOffers); !ok {
		t.Fatal("no offer after REVIVE")
	}
}

// TestOffersTimeout checks that offers held past offer_timeout are rescinded on time, even when the
// periodic allocation is an hour away, and that a rescinded offer can no longer be used.
func TestOffersTimeout(t *testing.T) {
	cfg := lcConfig(t)
	cfg.AllocationInterval = time.Hour
	cfg.OfferTimeout = 300 * time.Millisecond
	tm := lcStartMaster(t, cfg)
	lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("slow"))
	o := s.offer()
	offered := time.Now()
	if _, ok := s.take(3*time.Second, rescindFor(o.GetId().GetValue())); !ok {
		t.Fatal("offer not rescinded within 3s of a 300ms offer timeout")
	}
	if d := time.Since(offered); d < 250*time.Millisecond {
		t.Fatalf("offer rescinded after %v, before the 300ms offer timeout", d)
	}
	// The resources come back as a new offer.
	if next := s.offer(); next.GetId().GetValue() == o.GetId().GetValue() {
		t.Fatal("the rescinded offer was sent again")
	}
	s.mustCall(launchCall(o, commandTask("late", o, scalar("cpus", 1))))
	st := s.must("update of the late launch", updateFor("late")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_LOST || st.GetReason() != mesospb.TaskStatus_REASON_INVALID_OFFERS {
		t.Fatalf("launch on a rescinded offer: %v", st)
	}
}

// TestOffersDRFAcrossPasses has two frameworks share one agent: whatever is free on it goes to the
// framework with the lower dominant share, pass after pass.
func TestOffersDRFAcrossPasses(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	a := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("fw-a"))
	oa := a.offer()
	b := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("fw-b"))
	b.none("OFFERS while fw-a holds the agent", quietFor, isOffers)

	// fw-a runs 1 cpu (share 1/4); the rest goes to fw-b (share 0).
	a.running(oa, 0, commandTask("a1", oa, scalar("cpus", 1), scalar("mem", 128)))
	ob := b.offer()
	if got := scalarSum(ob.GetResources(), "cpus"); got != 3 {
		t.Fatalf("fw-b offered %v cpus, want 3", got)
	}
	// fw-b declines: its share is still the lowest, so it gets the resources again.
	b.decline(ob, refuseFor(0))
	ob = b.offer()
	a.none("OFFERS to fw-a while fw-b has the lower share", quietFor, isOffers)

	// fw-b runs 2 cpus (share 1/2): now fw-a (1/4) gets what is left.
	b.running(ob, 0, commandTask("b1", ob, scalar("cpus", 2), scalar("mem", 128)))
	oa = a.offer()
	if got := scalarSum(oa.GetResources(), "cpus"); got != 1 {
		t.Fatalf("fw-a offered %v cpus, want 1", got)
	}
	b.none("OFFERS to fw-b while fw-a has the lower share", quietFor, isOffers)
}

// TestOffersMultiRole checks that a MULTI_ROLE framework gets one offer per agent and role, with
// allocation_info on the offer and on every resource, and that a launch without allocation_info
// runs under the offer's role.
func TestOffersMultiRole(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	lcAgent(t, tm.addr, "host-b")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, multiRole(frameworkInfo("multi"), "blue", "green"))
	offers := s.offersFrom(2)
	byRole := map[string]*mesospb.Offer{}
	for _, o := range offers {
		role := o.GetAllocationInfo().GetRole()
		if role == "" {
			t.Fatalf("MULTI_ROLE offer without allocation_info: %v", o)
		}
		for _, r := range o.GetResources() {
			if r.GetAllocationInfo().GetRole() != role {
				t.Fatalf("resource %v of an offer for %q lacks allocation_info for it", r, role)
			}
		}
		byRole[role] = o
	}
	if byRole["blue"] == nil || byRole["green"] == nil {
		t.Fatalf("offers by role = %v, want one for blue and one for green", byRole)
	}

	o := byRole["green"]
	ti := commandTask("g1", o, scalar("cpus", 1), scalar("mem", 64))
	s.running(o, 0, ti)
	st := lcState(t, tm.addr)
	if fw := st.framework(s.fwID); fw == nil || len(fw.Tasks) != 1 || fw.Tasks[0].Role != "green" {
		t.Fatalf("state frameworks = %+v, want task g1 in role green", st.Frameworks)
	}
}

// TestOffersStaticReservation checks that resources an agent reserves statically for a role are
// offered only to frameworks in that role, in the format each framework understands.
func TestOffersStaticReservation(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	reserved := scalar("cpus", 2)
	reserved.Reservations = []*mesospb.Resource_ReservationInfo{{Type: mesospb.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String("ops")}}
	lcAgent(t, tm.addr, "host-a", scalar("cpus", 2), reserved, scalar("mem", 512))

	// A pre-MULTI_ROLE framework in "*" gets only the unreserved part, as "role":"*" and without
	// allocation_info.
	star := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("star"))
	o := star.offer()
	if o.AllocationInfo != nil {
		t.Fatalf("pre-MULTI_ROLE offer with allocation_info: %v", o)
	}
	for _, r := range o.GetResources() {
		if r.GetRole() != "*" || r.AllocationInfo != nil || len(r.GetReservations()) != 0 {
			t.Fatalf("resource %v offered to a framework in \"*\"", r)
		}
	}
	if got := scalarSum(o.GetResources(), "cpus"); got != 2 {
		t.Fatalf("framework in \"*\" offered %v cpus, want the 2 unreserved", got)
	}

	// A framework in "ops" gets the reservation: with RESERVATION_REFINEMENT as reservations[],
	// with MULTI_ROLE with allocation_info.
	ops := lcSubscribe(t, tm.addr, codec.Protobuf, multiRole(frameworkInfo("ops", mesospb.FrameworkInfo_Capability_RESERVATION_REFINEMENT), "ops"))
	oo := ops.offer()
	if got := scalarSum(oo.GetResources(), "cpus"); got != 2 {
		t.Fatalf("framework in ops offered %v cpus, want the 2 reserved", got)
	}
	for _, r := range oo.GetResources() {
		rs := r.GetReservations()
		if len(rs) != 1 || rs[0].GetRole() != "ops" || rs[0].GetType() != mesospb.Resource_ReservationInfo_STATIC || r.GetAllocationInfo().GetRole() != "ops" {
			t.Fatalf("resource %v offered to ops: want a STATIC reservation for ops and allocation_info ops", r)
		}
	}
	ops.running(oo, 0, commandTask("o1", oo, oo.GetResources()...))

	// The framework in "*" never sees the reserved cpus, however often it declines.
	star.decline(o, refuseFor(0))
	o = star.offer()
	if got := scalarSum(o.GetResources(), "cpus"); got != 2 {
		t.Fatalf("framework in \"*\" re-offered %v cpus, want 2", got)
	}
}
