// Package instance is the apps service's record of one instance of an app: the task it runs (or
// will run, while it waits for an offer), the app version it was launched from, where it runs
// (also the agent as placement constraints see it, so that they survive a restart), its Mesos
// state and its health as the agent's health checks report it, and, once the service asked for
// its end, why (a health kill) and, for a health kill that launched its replacement first, which
// replacement it waits for. The framework package keeps these
// records current from status updates, the store persists them, and the deploy and api packages
// read them (counts, kill order, the Marathon task JSON).
package instance
