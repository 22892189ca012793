package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/mqcron/mqcron/canary"
)

// canaryCheckInterval is how often the local runner checks the canary.
const canaryCheckInterval = 30 * time.Second

// watchCanary logs an error while the canary is overdue, the local stand-in
// for the stack's canary alarm, and one line when it recovers.
func watchCanary(ctx context.Context, store canary.Store, log *slog.Logger) {
	ticker := time.NewTicker(canaryCheckInterval)
	defer ticker.Stop()
	healthy := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		status, err := canary.Check(ctx, store, time.Now())
		switch {
		case err != nil:
			log.Warn("check canary", "error", err)
		case !status.Healthy():
			log.Error("canary overdue: scheduled fires are not being delivered",
				"state", status.State, "lastDelivered", status.LastDelivered, "detail", status.Message)
			healthy = false
		case !healthy:
			log.Info("canary recovered", "lastDelivered", status.LastDelivered)
			healthy = true
		}
	}
}

// canaryHandler serves the canary's status: 200 when healthy, 503 when not.
func canaryHandler(store canary.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, err := canary.Check(r.Context(), store, time.Now())
		code := http.StatusOK
		var body any = status
		switch {
		case err != nil:
			code, body = http.StatusServiceUnavailable, map[string]string{"state": "UNKNOWN", "message": "the store is unreachable"}
		case !status.Healthy():
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
}
