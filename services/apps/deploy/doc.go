// Package deploy runs the apps service's deployments. Every change to an app (create, update,
// scale, restart, delete, rollback) becomes a Deployment: a plan of steps, each a set of
// actions (StartApplication, ScaleApplication, RestartApplication, StopApplication) carried
// out together, the next step starting when the previous one is complete, as Marathon's
// DeploymentPlan does. The Manager owns the app definitions: it computes the plan from the
// current and target definitions, stamps versions, assigns service ports, persists the new
// versions and the deployment in one transaction, and drives the steps through the framework.
//
// One deployment at a time may touch an app: a conflicting change gets ErrLocked (the API's
// 409 with Marathon's body) unless forced, which cancels the conflicting deployments without
// rollback. Cancelling a deployment rolls its apps back through a new deployment, or, forced,
// just stops it.
//
// Steps are level-triggered: each tick compares what runs with what the step wants, so a
// deployment resumes where it was after a restart of the service (deployments are persisted
// and reloaded). A rolling restart follows Marathon's TaskReplaceActor arithmetic (see
// Restart): never fewer than ceil(instances × minimumHealthCapacity) healthy instances, never
// more than floor(instances × (1 + maximumOverCapacity)), an instance of an app with health
// checks counting as new capacity only once healthy.
//
// Beyond Marathon, whose steps never time out, a deployment that makes no progress for the
// progress deadline (10 minutes by default) is FAILED with a reason naming what it waited for;
// its app keeps whatever runs and is again kept at its instance count.
package deploy
