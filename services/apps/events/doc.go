// Package events is the event bus of the apps service and its Marathon-compatible server-sent
// events endpoint, GET /v2/events.
//
// # Bus
//
// A Bus numbers every published event with a monotonically increasing id (1, 2, 3, ... unless
// Options.FirstID says otherwise), encodes its payload once to a JSON object carrying `eventType`
// and `timestamp` (ISO-8601 UTC with milliseconds, "2014-03-01T23:29:30.158Z"; the bus adds both
// when the payload lacks them, as every Marathon event carries them), keeps the most recent events
// in a bounded ring (Options.RingSize, 10,000 by default) and fans each event out to the
// subscribers whose type filter matches.
//
// Every subscriber has a bounded queue (Options.QueueSize). Publish never waits for a subscriber:
// when a queue is full, that subscriber is disconnected (Subscription.Err reports ErrSlowConsumer),
// the bus logs it and counts it, and the client is expected to reconnect with Last-Event-ID and
// resume from the ring. Marathon dropped events for slow consumers silently (beyond
// event_stream_max_outstanding_messages, 50 by default); a later Marathon pull request proposed
// closing the connection instead. Losing events without telling anyone is what this package never
// does.
//
// Each subscriber sees events in id order. Publishers that run concurrently are ordered by the bus:
// the id is assigned, the event stored in the ring and queued to every subscriber in one critical
// section, so all subscribers see the same order.
//
// # The /v2/events stream
//
// Handler serves GET /v2/events as Marathon does, with what Marathon lacked.
//
// The request must accept text/event-stream (an Accept media range "text/event-stream" with a
// non-zero q); otherwise the answer is 406 with Marathon's error body {"message": "..."}.
// Marathon's Jetty servlet answered 405 "HTTP method GET is not supported by this URL" instead.
//
// Each event is one frame, flushed on its own, with LF line ends:
//
//	id: 42
//	event: status_update_event
//	data: {"slaveId":"...","taskId":"...",...,"eventType":"status_update_event","timestamp":"..."}
//	<blank line>
//
// Clients that dispatch on data.eventType and ignore the id and event lines keep working.
//
// The query parameter event_type=<type> filters by type; it may repeat and may list several types
// separated by commas. Without it the client gets every type.
//
// A client that sends the Last-Event-ID header (browsers do so when they reconnect) or, for the
// first connection of a browser, the lastEventId query parameter, gets every retained event after
// that id first, then the live stream, with nothing lost and nothing repeated. The header wins over
// the query parameter. Without either, the stream starts with live events only, as Marathon's did.
//
// When the requested id cannot be continued exactly, the stream starts with a gap signal, an
// event of Strata's own type event_stream_gap:
//
//	id: <firstAvailableId - 1>
//	event: event_stream_gap
//	data: {"lastEventId":"17","firstAvailableId":9001,"reason":"evicted","eventType":"event_stream_gap","timestamp":"..."}
//
// followed by every retained event from firstAvailableId on. lastEventId is the id as the client
// sent it. reason is "evicted" (the id is older than the ring holds), "unknown" (the id is newer
// than any event of this bus: the service restarted, or the id came from another instance) or
// "invalid" (not a decimal id). A client that sees event_stream_gap must re-read the state it
// caches (GET /v2/apps, /v2/deployments, ...). The gap frame carries an id line so that a
// reconnect right after it continues without a second gap. It is sent whatever the event_type
// filter says. A filtered client may get a gap signal although none of the lost events matched its
// filter: the bus cannot know the types of events it no longer holds.
//
// The stream publishes event_stream_attached when it starts and event_stream_detached when it
// ends, both with the client's IP address as remoteAddress, as Marathon does. An SSE comment
// ": ping" is written every HandlerOptions.KeepAlive (10 s by default, the heartbeat period of
// Marathon's Jetty servlet) so that proxies and load balancers keep an idle stream open. The
// stream lifts any server-wide write timeout for itself.
//
// The stream ends when the client goes away, when the subscriber is too slow (see above; a write
// stuck on a client that does not read is cut short), or when the bus is closed: Bus.Close ends
// every stream cleanly, so call it before (or while) shutting the HTTP server down.
//
// # Metrics
//
// strata_apps_events_subscribers (gauge), strata_apps_events_published_total{event_type} and
// strata_apps_events_subscribers_dropped_total, registered with Options.Registerer.
package events
