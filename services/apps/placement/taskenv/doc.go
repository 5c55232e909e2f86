// Package taskenv builds what Marathon puts into a task besides its
// resources: the environment variables (PORT0..n, PORT, PORTS, PORT_<n>,
// PORT_<NAME>, HOST, MESOS_TASK_ID and the MARATHON_APP_* metadata) and the
// DiscoveryInfo that names the task's ports for service discovery.
//
// Formats follow Marathon: resource amounts are written as Java prints a
// double ("1.0", "128.0", "0.5"); MARATHON_APP_LABELS lists the label names
// (every run of characters outside [a-zA-Z0-9_] turned into "_", then upper
// case) separated by spaces, and each label also gets a
// MARATHON_APP_LABEL_<NAME> variable, except labels whose name or value is
// too long for an environment variable. The app's own env wins over every
// generated variable. Pure code: it only reads its arguments.
package taskenv
