// Package readiness runs the apps service's readiness checks: HTTP(S) GETs of a task's
// readiness endpoint that gate deployment steps, as Marathon's readinessChecks do. A check
// never kills anything; it only says when a new instance may count toward its deployment step.
//
// Specs turns an app's readiness checks into the checks of one instance: the URL is
// <protocol>://<host>:<port><path>, where the port is the one named portName among the app's
// ports (its host port on the agent's host, or, with no host port, the container port on the
// task's IP address).
//
// A Checker runs every check it is given (Ensure) in a goroutine of its own, as Marathon does:
// the first GET at once, the next intervalSeconds after the previous one finished, each bounded
// by timeoutSeconds, until a response carries one of httpStatusCodesForReady. Once ready, a check
// stops and stays ready. A response is read up to 64 KiB; redirects are not followed and HTTPS
// certificates are not verified. A GET that fails (refused, timed out) counts as a 504 with a
// text/plain body naming the error. Results (Marathon's TaskReadinessCheckResult: name, taskId,
// ready, and lastResponse {status, contentType, body} only with preserveLastResponse) are kept
// until the Checker is told to forget the task (Retain); the caller (the deployment manager)
// keeps the checks of the instances its running deployments wait for and nothing else.
package readiness
