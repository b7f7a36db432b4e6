package ads

import (
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

// handleDelta handles an incremental request. Its nonce, when present, ACKs or (with
// error_detail) NACKs the response it names; independently, its subscribe and
// unsubscribe lists change the watch. The first request for a type is always answered,
// even with nothing, so the client's initial fetch completes; later requests are
// answered when they subscribe to something new.
func (c *connection) handleDelta(r *discoveryv3.DeltaDiscoveryRequest) error {
	t := r.GetTypeUrl()
	w := c.watches[t]
	first := w == nil
	if first {
		w = newWatch(t)
		// LDS and CDS without names are wildcard, the legacy form.
		w.wildcard = fullStateType(t) && len(r.GetResourceNamesSubscribe()) == 0
		for n, v := range r.GetInitialResourceVersions() {
			w.sent[internName(n)] = parseVersion(v)
		}
		c.addWatch(w)
	}
	if nonce := r.GetResponseNonce(); nonce != "" {
		switch {
		case nonce != w.sentNonce:
			c.s.m.expiredNonce.WithLabelValues(ShortType(t)).Inc()
		case r.GetErrorDetail() != nil:
			c.nack(w, nonce, r.GetErrorDetail().GetMessage())
		case !w.rejected(nonce):
			c.ack(w, w.sentVersion, nonce)
		}
	}
	added, wildcardOn := c.applyDelta(w, r.GetResourceNamesSubscribe(), r.GetResourceNamesUnsubscribe())
	if !first && len(added) == 0 && !wildcardOn {
		return nil
	}
	return c.respond(w, prepareOpts{force: first, missing: added})
}

// applyDelta applies subscribe and unsubscribe lists to a watch. It returns the names
// newly subscribed to and whether the wildcard was just turned on. Unsubscribed
// resources are forgotten without a removal being sent: the client dropped them itself.
func (c *connection) applyDelta(w *watch, sub, unsub []string) (added []string, wildcardOn bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range sub {
		if n == "*" {
			wildcardOn = wildcardOn || !w.wildcard
			w.wildcard = true
			continue
		}
		k := internName(n)
		if _, ok := w.names[k]; !ok {
			w.names[k] = struct{}{}
			added = append(added, n)
		}
	}
	for _, n := range unsub {
		if n == "*" {
			w.wildcard = false
			for held := range w.sent {
				if _, ok := w.names[held]; !ok {
					delete(w.sent, held)
				}
			}
			continue
		}
		k := internName(n)
		delete(w.names, k)
		if !w.wildcard {
			delete(w.sent, k)
		}
	}
	return added, wildcardOn
}
