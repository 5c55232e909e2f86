package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPublishOrderIsTheSameForEverySubscriber(t *testing.T) {
	tb := newTestBus(t, Options{QueueSize: 4096})
	const publishers, perPublisher = 4, 250
	subs := make([]*Subscription, 3)
	for i := range subs {
		s, err := tb.Subscribe(SubscribeOptions{Name: fmt.Sprint("sub", i)})
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				if _, err := tb.Publish(fmt.Sprintf("type_%d", p), map[string]int{"seq": i}); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	var first []string
	for i, s := range subs {
		evs := collect(t, s, publishers*perPublisher)
		seqByType := map[string]int{}
		var order []string
		for j, ev := range evs {
			if ev.ID != uint64(j+1) {
				t.Fatalf("sub%d: event %d has id %d, want %d", i, j, ev.ID, j+1)
			}
			var body struct {
				Seq int `json:"seq"`
			}
			if err := json.Unmarshal(ev.Data, &body); err != nil {
				t.Fatal(err)
			}
			if body.Seq != seqByType[ev.Type] {
				t.Fatalf("sub%d: %s seq %d after %d: one publisher's events out of order", i, ev.Type, body.Seq, seqByType[ev.Type]-1)
			}
			seqByType[ev.Type]++
			order = append(order, fmt.Sprint(ev.ID, ev.Type))
		}
		if i == 0 {
			first = order
		} else if !slices.Equal(first, order) {
			t.Fatalf("sub%d saw another order than sub0", i)
		}
	}
}

func TestSubscribeFilters(t *testing.T) {
	tests := []struct {
		name  string
		types []string
		want  []string
	}{
		{"all types", nil, []string{"a", "b", "c", "a"}},
		{"one type", []string{"a"}, []string{"a", "a"}},
		{"two types", []string{"b", "c"}, []string{"b", "c"}},
		{"unknown type", []string{"zzz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Options{})
			sub, err := tb.Subscribe(SubscribeOptions{Types: tt.types})
			if err != nil {
				t.Fatal(err)
			}
			for _, typ := range []string{"a", "b", "c", "a"} {
				tb.publish(t, typ, map[string]string{})
			}
			var got []string
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			for {
				ev, err := sub.Next(ctx)
				if err != nil {
					break
				}
				got = append(got, ev.Type)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResumeFromRing(t *testing.T) {
	// A ring of 5 after 10 events holds ids 6..10.
	tests := []struct {
		name      string
		resume    Resume
		types     []string
		wantGap   string // reason, "" for none
		wantGapID uint64 // id line of the gap frame
		wantIDs   []uint64
	}{
		{name: "continue in the middle", resume: Resume{LastEventID: 7}, wantIDs: []uint64{8, 9, 10}},
		{name: "up to date", resume: Resume{LastEventID: 10}, wantIDs: nil},
		{name: "just before the oldest", resume: Resume{LastEventID: 5}, wantIDs: []uint64{6, 7, 8, 9, 10}},
		{name: "evicted", resume: Resume{LastEventID: 4}, wantGap: GapEvicted, wantGapID: 5, wantIDs: []uint64{6, 7, 8, 9, 10}},
		{name: "evicted from zero", resume: Resume{LastEventID: 0}, wantGap: GapEvicted, wantGapID: 5, wantIDs: []uint64{6, 7, 8, 9, 10}},
		{name: "newer than the bus", resume: Resume{LastEventID: 11}, wantGap: GapUnknown, wantGapID: 5, wantIDs: []uint64{6, 7, 8, 9, 10}},
		{name: "largest id", resume: Resume{LastEventID: ^uint64(0)}, wantGap: GapUnknown, wantGapID: 5, wantIDs: []uint64{6, 7, 8, 9, 10}},
		{name: "invalid", resume: Resume{Invalid: true, Raw: "abc"}, wantGap: GapInvalid, wantGapID: 5, wantIDs: []uint64{6, 7, 8, 9, 10}},
		{name: "filtered continue", resume: Resume{LastEventID: 6}, types: []string{"even"}, wantIDs: []uint64{8, 10}},
		{name: "filtered gap is still signalled", resume: Resume{LastEventID: 1}, types: []string{"odd"}, wantGap: GapEvicted, wantGapID: 5, wantIDs: []uint64{7, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Options{RingSize: 5, Now: func() time.Time { return fixedNow }})
			for i := 1; i <= 10; i++ {
				typ := "odd"
				if i%2 == 0 {
					typ = "even"
				}
				tb.publish(t, typ, map[string]int{"n": i})
			}
			r := tt.resume
			sub, err := tb.Subscribe(SubscribeOptions{Types: tt.types, Resume: &r})
			if err != nil {
				t.Fatal(err)
			}
			n := len(tt.wantIDs)
			if tt.wantGap != "" {
				n++
			}
			evs := collect(t, sub, n)
			if tt.wantGap != "" {
				gap := evs[0]
				evs = evs[1:]
				if gap.Type != TypeStreamGap || gap.ID != tt.wantGapID {
					t.Fatalf("first event %s id %d, want %s id %d", gap.Type, gap.ID, TypeStreamGap, tt.wantGapID)
				}
				raw := tt.resume.Raw
				if raw == "" {
					raw = fmt.Sprint(tt.resume.LastEventID)
				}
				want := fmt.Sprintf(`{"lastEventId":%q,"firstAvailableId":6,"reason":%q,"eventType":"event_stream_gap","timestamp":%q}`,
					raw, tt.wantGap, fixedStamp)
				if string(gap.Data) != want {
					t.Fatalf("gap data\n got %s\nwant %s", gap.Data, want)
				}
			}
			var ids []uint64
			for _, ev := range evs {
				ids = append(ids, ev.ID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Fatalf("ids %v, want %v", ids, tt.wantIDs)
			}
			// The live stream continues right after the backlog.
			tb.publish(t, "even", map[string]int{"n": 12})
			tb.publish(t, "odd", map[string]int{"n": 11})
			next := collect(t, sub, 1)[0]
			if want := tb.LastID() - 1; tt.types == nil || tt.types[0] == "even" {
				if next.ID != want {
					t.Fatalf("live event id %d, want %d", next.ID, want)
				}
			} else if next.ID != want+1 {
				t.Fatalf("live event id %d, want %d", next.ID, want+1)
			}
		})
	}
}

func TestResumeOnEmptyBus(t *testing.T) {
	tests := []struct {
		name    string
		firstID uint64
		after   uint64
		wantGap bool
		gapID   uint64
	}{
		{"nothing seen", 0, 0, false, 0},
		{"id from a previous run", 0, 42, true, 0},
		{"numbering continued after a restart", 100, 99, false, 0},
		{"older than the restart", 100, 50, true, 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Options{FirstID: tt.firstID})
			sub, err := tb.Subscribe(SubscribeOptions{Resume: &Resume{LastEventID: tt.after}})
			if err != nil {
				t.Fatal(err)
			}
			id := tb.publish(t, "x", map[string]int{})
			evs := collect(t, sub, 1)
			if tt.wantGap {
				if evs[0].Type != TypeStreamGap || evs[0].ID != tt.gapID {
					t.Fatalf("got %s id %d, want a gap with id %d", evs[0].Type, evs[0].ID, tt.gapID)
				}
				evs = collect(t, sub, 1)
			}
			if evs[0].ID != id {
				t.Fatalf("got id %d, want %d", evs[0].ID, id)
			}
		})
	}
}

func TestSlowSubscriberIsDisconnectedWithoutBlockingOthers(t *testing.T) {
	tb := newTestBus(t, Options{QueueSize: 4})
	slow, err := tb.Subscribe(SubscribeOptions{Name: "slow-client"})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := tb.Subscribe(SubscribeOptions{Name: "fast-client"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	got := make(chan []*Event, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var evs []*Event
		for len(evs) < n {
			ev, err := fast.Next(ctx)
			if err != nil {
				t.Errorf("fast subscriber after %d events: %v", len(evs), err)
				break
			}
			evs = append(evs, ev)
		}
		got <- evs
	}()

	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range n {
			if _, err := tb.Publish("tick", map[string]int{"i": i}); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
			if i%4 == 3 {
				// Let the fast subscriber keep up with its small queue.
				for len(fast.ch) > 0 && fast.Err() == nil {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	evs := <-got
	if len(evs) != n {
		t.Fatalf("fast subscriber got %d events, want %d", len(evs), n)
	}
	for i, ev := range evs {
		if ev.ID != uint64(i+1) {
			t.Fatalf("fast subscriber: event %d has id %d", i, ev.ID)
		}
	}
	if !errors.Is(slow.Err(), ErrSlowConsumer) {
		t.Fatalf("slow subscriber: Err = %v, want ErrSlowConsumer", slow.Err())
	}
	if _, err := slow.Next(context.Background()); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("slow subscriber: Next = %v, want ErrSlowConsumer", err)
	}
	if fast.Err() != nil {
		t.Fatalf("fast subscriber ended: %v", fast.Err())
	}
	if got := tb.metric(t, "strata_apps_events_subscribers_dropped_total", ""); got != 1 {
		t.Fatalf("dropped counter %v, want 1", got)
	}
	if got := tb.metric(t, "strata_apps_events_subscribers", ""); got != 1 {
		t.Fatalf("subscribers gauge %v, want 1", got)
	}
	if logs := tb.logs.String(); !strings.Contains(logs, "slow subscriber disconnected") || !strings.Contains(logs, "slow-client") {
		t.Fatalf("no log of the disconnection:\n%s", logs)
	}
}

func TestPublishEncodesPayload(t *testing.T) {
	tests := []struct {
		name      string
		eventType string
		payload   any
		want      string // data; "" when an error is expected
	}{
		{"map", "x_event", map[string]any{"a": 1}, `{"a":1,"eventType":"x_event","timestamp":"` + fixedStamp + `"}`},
		{"empty map", "x_event", map[string]any{}, `{"eventType":"x_event","timestamp":"` + fixedStamp + `"}`},
		{"struct", TypeAppTerminated, AppTerminatedEvent{AppID: "/a"}, `{"appId":"/a","eventType":"app_terminated_event","timestamp":"` + fixedStamp + `"}`},
		{"pointer to struct", TypeAppTerminated, &AppTerminatedEvent{AppID: "/a"}, `{"appId":"/a","eventType":"app_terminated_event","timestamp":"` + fixedStamp + `"}`},
		{"own timestamp kept", "x", map[string]any{"timestamp": "2014-03-01T23:29:30.158Z"}, `{"timestamp":"2014-03-01T23:29:30.158Z","eventType":"x"}`},
		{"own eventType kept", "x", map[string]any{"eventType": "x"}, `{"eventType":"x","timestamp":"` + fixedStamp + `"}`},
		{"both kept", "x", json.RawMessage(`{"eventType":"x", "timestamp":"t"}`), `{"eventType":"x","timestamp":"t"}`},
		{"raw message compacted", "x", json.RawMessage("{\n  \"a\": [1,\n 2]\n}"), `{"a":[1,2],"eventType":"x","timestamp":"` + fixedStamp + `"}`},
		{"no HTML escaping", "x", map[string]string{"cmd": "a && b <c>"}, `{"cmd":"a && b <c>","eventType":"x","timestamp":"` + fixedStamp + `"}`},
		{"other eventType", "x", map[string]any{"eventType": "y"}, ""},
		{"non-string eventType", "x", map[string]any{"eventType": 1}, ""},
		{"slice", "x", []int{1}, ""},
		{"string", "x", "s", ""},
		{"nil", "x", nil, ""},
		{"unencodable", "x", map[string]any{"f": func() {}}, ""},
		{"empty type", "", map[string]any{}, ""},
		{"type with space", "a b", map[string]any{}, ""},
		{"type with newline", "a\nevent: b", map[string]any{}, ""},
		{"type too long", strings.Repeat("a", 129), map[string]any{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Options{Now: func() time.Time { return fixedNow }})
			sub, err := tb.Subscribe(SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id, err := tb.Publish(tt.eventType, tt.payload)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Publish succeeded with id %d, want an error", id)
				}
				if !strings.HasPrefix(err.Error(), "events: ") {
					t.Fatalf("error %q lacks the component prefix", err)
				}
				if tb.LastID() != 0 {
					t.Fatalf("a failed Publish used an id")
				}
				return
			}
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			ev := collect(t, sub, 1)[0]
			if string(ev.Data) != tt.want {
				t.Fatalf("data\n got %s\nwant %s", ev.Data, tt.want)
			}
			if ev.ID != id || ev.Type != tt.eventType {
				t.Fatalf("event %d %s, want %d %s", ev.ID, ev.Type, id, tt.eventType)
			}
		})
	}
}

func TestEventFrame(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		want     string
		wantData string
	}{
		{"one line", `{"a":1}`, "id: 7\nevent: t\ndata: {\"a\":1}\n\n", `{"a":1}`},
		{"LF", "a\nb", "id: 7\nevent: t\ndata: a\ndata: b\n\n", "a\nb"},
		{"CRLF", "a\r\nb", "id: 7\nevent: t\ndata: a\ndata: b\n\n", "a\r\nb"},
		{"CR", "a\rb\r", "id: 7\nevent: t\ndata: a\ndata: b\ndata: \n\n", "a\rb\r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEvent(7, "t", []byte(tt.data))
			if string(ev.Frame()) != tt.want {
				t.Fatalf("frame %q, want %q", ev.Frame(), tt.want)
			}
			if string(ev.Data) != tt.wantData {
				t.Fatalf("data %q, want %q", ev.Data, tt.wantData)
			}
		})
	}
}

func TestCloseEndsEverything(t *testing.T) {
	tb := newTestBus(t, Options{})
	sub, err := tb.Subscribe(SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		waiting <- err
	}()
	tb.Close()
	tb.Close() // idempotent
	select {
	case err := <-waiting:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Next = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	if _, err := tb.Publish("x", map[string]int{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v", err)
	}
	if _, err := tb.Subscribe(SubscribeOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close = %v", err)
	}
	if got := tb.metric(t, "strata_apps_events_subscribers", ""); got != 0 {
		t.Fatalf("subscribers gauge %v after Close", got)
	}
}

func TestSubscriptionClose(t *testing.T) {
	tb := newTestBus(t, Options{})
	sub, err := tb.Subscribe(SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Subscribers() != 1 {
		t.Fatalf("Subscribers = %d", tb.Subscribers())
	}
	sub.Close()
	sub.Close()
	if !errors.Is(sub.Err(), ErrUnsubscribed) || tb.Subscribers() != 0 {
		t.Fatalf("after Close: Err %v, Subscribers %d", sub.Err(), tb.Subscribers())
	}
	tb.publish(t, "x", map[string]int{}) // must not panic on the ended subscription
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, ErrUnsubscribed) {
		t.Fatalf("Next = %v, want ErrUnsubscribed", err)
	}
}

func TestNextHonoursContext(t *testing.T) {
	tb := newTestBus(t, Options{})
	sub, err := tb.Subscribe(SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want DeadlineExceeded", err)
	}
}

func TestPublishedMetricByType(t *testing.T) {
	tb := newTestBus(t, Options{})
	for range 3 {
		if _, err := tb.Emit(AppTerminatedEvent{AppID: "/a"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tb.Emit(GroupChangeSuccessEvent{GroupID: "/g"}); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]float64{TypeAppTerminated: 3, TypeGroupChangeSuccess: 1} {
		if got := tb.metric(t, "strata_apps_events_published_total", typ); got != want {
			t.Errorf("published_total{event_type=%q} = %v, want %v", typ, got, want)
		}
	}
}

func TestNewFailsOnDuplicateMetrics(t *testing.T) {
	tb := newTestBus(t, Options{})
	if _, err := New(Options{Registerer: tb.reg}); err == nil || !strings.HasPrefix(err.Error(), "events: ") {
		t.Fatalf("second New on the same registry: %v", err)
	}
	// The failed registration left nothing behind: the first bus's metrics still gather.
	if _, err := tb.reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestRingWrapsAroundManyTimes(t *testing.T) {
	tb := newTestBus(t, Options{RingSize: 3})
	for i := 1; i <= 100; i++ {
		tb.publish(t, "x", map[string]int{"i": i})
	}
	sub, err := tb.Subscribe(SubscribeOptions{Resume: &Resume{LastEventID: 97}})
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, sub, 3)
	for i, ev := range evs {
		var body struct{ I int }
		if err := json.Unmarshal(ev.Data, &body); err != nil {
			t.Fatal(err)
		}
		if ev.ID != uint64(98+i) || body.I != 98+i {
			t.Fatalf("event %d: id %d payload %d", i, ev.ID, body.I)
		}
	}
}
