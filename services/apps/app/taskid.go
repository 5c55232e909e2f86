package app

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// NewTaskID returns a task id in Marathon's legacy form, "<safe path>.<uuid>" (app "/prod/web"
// gives "prod_web.5f0a..."), the one form clients can map back to the app by cutting at the last
// '.' and replacing '_' with '/'.
func NewTaskID(appID string) string {
	return SafePath(appID) + "." + uuid.NewString()
}

// AppIDFromTaskID returns the app id a task id belongs to. It reads the legacy form
// "<safe path>.<uuid>" and Marathon 1.4+'s "<safe path>.instance-<uuid>[._app.<n>]" and
// "<safe path>.marathon-<uuid>".
func AppIDFromTaskID(taskID string) (string, error) {
	prefix := ""
	for _, sep := range []string{".instance-", ".marathon-"} {
		if i := strings.Index(taskID, sep); i > 0 {
			prefix = taskID[:i]
			break
		}
	}
	if prefix == "" {
		i := strings.LastIndexByte(taskID, '.')
		if i <= 0 {
			return "", fmt.Errorf("app: task id %q has no app part", taskID)
		}
		prefix = taskID[:i]
	}
	id, err := ParseID("/"+strings.ReplaceAll(prefix, "_", "/"), "/")
	if err != nil {
		return "", fmt.Errorf("app: task id %q: %w", taskID, err)
	}
	return id, nil
}
