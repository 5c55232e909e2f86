// Package offerstats keeps, per app, the statistics of the offers the
// framework processed for it while instances wait to launch, and renders
// them as the processedOffersSummary and lastUnusedOffers of Marathon's
// /v2/queue: how many offers were processed and left unused, when the last
// used and unused ones came, and for each reason how many offers it declined
// out of how many reached it.
//
// Every unused offer counts once, for the first of its reasons in
// placement.Funnel; the "processed" of a reason is the number of offers
// that got past the reasons before it. rejectSummaryLaunchAttempt covers the
// whole launch attempt (since the last Reset); rejectSummaryLastOffers
// covers only the last unused offer of each agent, so it reflects the
// cluster as it is now. Beyond Marathon, rejectSummaryConstraints names
// which constraints declined the last offers, and Explain puts it all in
// one sentence: the answer to "why is my app waiting?".
//
// A Stats is safe for concurrent use; it does no I/O and reads no clock.
package offerstats
