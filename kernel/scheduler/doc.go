// Package scheduler is a Go client for the Mesos v1 scheduler HTTP API
// (POST /api/v1/scheduler). Strata's built-in frameworks (the apps and jobs
// services) and the kernel tests use it; it speaks only the public API, so it
// works against any Mesos-compatible master.
//
// # Usage
//
//	c, err := scheduler.New(scheduler.Config{
//		Masters:         []string{"m1:5050", "m2:5050"},
//		FrameworkInfo:   info,
//		AutoAcknowledge: true,
//	})
//	...
//	err = c.Run(ctx, myHandler) // blocks; myHandler embeds scheduler.NopHandler
//
// Run subscribes (SUBSCRIBE with Accept set to the configured codec, protobuf
// by default), follows 307 redirects from non-leading masters (only the
// host:port of the protocol-relative Location is used), and reads the
// RecordIO event stream, handing each event to the Handler in order on Run's
// goroutine. It keeps the Mesos-Stream-Id of the stream and sends it, with
// the framework id, on every call; calls go to the master serving the
// stream, each on its own request, and may be made from any goroutine.
//
// # Staying subscribed
//
// When the stream breaks, when no event (heartbeats included) arrives for
// MissedHeartbeats heartbeat intervals, when the master sends an ERROR event,
// or when a call is answered "framework not subscribed", the client drops
// the stream and subscribes again with the framework id it was given
// (a failover), waiting an exponential backoff with jitter between attempts
// (500ms to 15s by default) and trying the last leader and then every
// configured master. Two ERROR messages end Run instead: "Framework has been
// removed" (ErrFrameworkRemoved: the id is dead) and "Framework failed over"
// (ErrFailedOver: another instance of the scheduler took the framework over).
// Run also ends when its context ends, when a SUBSCRIBE is rejected with a
// 4xx status, when a handler returns an error wrapping ErrStop, and (with
// nil) after a successful Teardown.
//
// # Acknowledgements
//
// With Config.AutoAcknowledge the client acknowledges every UPDATE carrying
// a uuid after Handler.Update returns nil, on a separate goroutine, in order.
// Returning an error from Update leaves the update unacknowledged, so the
// agent redelivers it: persist what you need before returning nil. Updates
// without a uuid (reconciliation answers, master-generated updates) are never
// acknowledged. Without AutoAcknowledge call Acknowledge yourself.
//
// # Reconciliation (recommended pattern)
//
// The client never reconciles on its own. The master drops a disconnected
// framework's queued events and loses framework state across master
// failovers, so a scheduler should, after every (re)subscription:
//
//  1. From Handler.Subscribed, start a goroutine (do not block the event
//     loop) that sends Reconcile with the tasks the scheduler believes are
//     non-terminal (explicit reconciliation), and repeats it with truncated
//     exponential backoff for the tasks whose UPDATE has not come back.
//  2. Then send Reconcile(ctx, nil) (implicit reconciliation) so that the
//     master reports tasks the scheduler does not know of, and kill those.
//  3. Repeat the implicit reconciliation periodically (about every 15
//     minutes) while connected.
//
// Offers received before reconciliation ends can be declined or held.
// Also re-issue Suppress from Handler.Subscribed if the scheduler wants no
// offers, unless the roles were passed in Config.SuppressedRoles or
// UpdateFramework, which the client resends on every SUBSCRIBE.
package scheduler
