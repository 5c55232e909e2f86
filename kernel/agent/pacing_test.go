package agent

import (
	"context"
	"testing"
	"time"
)

func TestLaunchPacer(t *testing.T) {
	p := newLaunchPacer(2, time.Hour)
	ctx := context.Background()
	r1, ok1 := p.acquire(ctx)
	_, ok2 := p.acquire(ctx)
	if !ok1 || !ok2 {
		t.Fatal("the first two slots were not free")
	}
	got := make(chan func(), 1)
	go func() {
		r, ok := p.acquire(ctx)
		if !ok {
			r = nil
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a third slot was handed out")
	case <-time.After(50 * time.Millisecond):
	}
	r1()
	r1() // releasing twice frees one slot only
	var r3 func()
	select {
	case r3 = <-got:
		if r3 == nil {
			t.Fatal("acquire failed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a released slot was not handed out")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := p.acquire(cctx); ok {
		t.Fatal("acquire succeeded with all slots taken and its context done")
	}
	r3()

	// A slot held too long is released by itself.
	q := newLaunchPacer(1, 20*time.Millisecond)
	if _, ok := q.acquire(ctx); !ok {
		t.Fatal("no slot")
	}
	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
	defer tcancel()
	if _, ok := q.acquire(tctx); !ok {
		t.Fatal("a slot held past maxHold was not released")
	}
}
