package scheduler

import (
	"context"

	"strata/kernel/mesos/schedulerpb"
)

// Handler receives the events of the subscription stream. Run calls its
// methods one at a time, in stream order, on Run's goroutine; a method that
// blocks holds up the events behind it (but not the heartbeat watchdog,
// which is paused while a handler runs).
//
// A returned error is logged. If it wraps ErrStop, Run stops and returns it.
// An error from Update (or UpdateOperationStatus) also prevents the automatic
// acknowledgement of that update, so the agent will send it again.
//
// Embed NopHandler to implement only the methods you need.
type Handler interface {
	// Subscribed is called after every successful (re)subscription. The
	// client is connected when it runs, so calls may be made from it (for
	// example a reconciliation; see the package documentation).
	Subscribed(ctx context.Context, ev *schedulerpb.Event_Subscribed) error
	Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error
	InverseOffers(ctx context.Context, ev *schedulerpb.Event_InverseOffers) error
	Rescind(ctx context.Context, ev *schedulerpb.Event_Rescind) error
	RescindInverseOffer(ctx context.Context, ev *schedulerpb.Event_RescindInverseOffer) error
	Update(ctx context.Context, ev *schedulerpb.Event_Update) error
	UpdateOperationStatus(ctx context.Context, ev *schedulerpb.Event_UpdateOperationStatus) error
	Message(ctx context.Context, ev *schedulerpb.Event_Message) error
	Failure(ctx context.Context, ev *schedulerpb.Event_Failure) error
	// Error is called for an ERROR event before the client reacts to it
	// (resubscribing, or ending Run for "Framework has been removed").
	Error(ctx context.Context, ev *schedulerpb.Event_Error) error
	Heartbeat(ctx context.Context) error
	// Disconnected is called when a subscription that had reached SUBSCRIBED
	// ends, with the reason. The master rescinds all outstanding offers of a
	// disconnected framework, so forget them here.
	Disconnected(ctx context.Context, err error)
}

// NopHandler implements every Handler method by doing nothing. Embed it in a
// handler struct and override the methods of interest.
type NopHandler struct{}

var _ Handler = NopHandler{}

func (NopHandler) Subscribed(context.Context, *schedulerpb.Event_Subscribed) error       { return nil }
func (NopHandler) Offers(context.Context, *schedulerpb.Event_Offers) error               { return nil }
func (NopHandler) Rescind(context.Context, *schedulerpb.Event_Rescind) error             { return nil }
func (NopHandler) Update(context.Context, *schedulerpb.Event_Update) error               { return nil }
func (NopHandler) Message(context.Context, *schedulerpb.Event_Message) error             { return nil }
func (NopHandler) Failure(context.Context, *schedulerpb.Event_Failure) error             { return nil }
func (NopHandler) Error(context.Context, *schedulerpb.Event_Error) error                 { return nil }
func (NopHandler) Heartbeat(context.Context) error                                       { return nil }
func (NopHandler) Disconnected(context.Context, error)                                   {}
func (NopHandler) InverseOffers(context.Context, *schedulerpb.Event_InverseOffers) error { return nil }
func (NopHandler) RescindInverseOffer(context.Context, *schedulerpb.Event_RescindInverseOffer) error {
	return nil
}
func (NopHandler) UpdateOperationStatus(context.Context, *schedulerpb.Event_UpdateOperationStatus) error {
	return nil
}
