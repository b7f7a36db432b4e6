package ads

import (
	"maps"
	"slices"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

// handleSotW handles a state-of-the-world request. A request without a nonce opens (or
// reopens) a subscription and is answered in full; one carrying the nonce last sent for
// its type is an ACK or, with error_detail, a NACK; one carrying an older nonce is stale
// and ignored, since the client will answer the newer response too.
func (c *connection) handleSotW(r *discoveryv3.DiscoveryRequest) error {
	t := r.GetTypeUrl()
	w := c.watches[t]
	nonce := r.GetResponseNonce()
	switch {
	case nonce == "":
		w = newWatch(t)
		setSotWNames(w, r.GetResourceNames(), true)
		c.addWatch(w)
		return c.respond(w, prepareOpts{force: true})
	case w == nil || nonce != w.sentNonce:
		c.s.m.expiredNonce.WithLabelValues(ShortType(t)).Inc()
		c.s.log.Debug("stale nonce ignored", "connection", c.id, "type", ShortType(t), "nonce", nonce)
		return nil
	case r.GetErrorDetail() != nil:
		c.nack(w, nonce, r.GetErrorDetail().GetMessage())
		return nil
	}
	if !w.rejected(nonce) {
		c.ack(w, r.GetVersionInfo(), nonce)
	}
	c.mu.Lock()
	changed := setSotWNames(w, r.GetResourceNames(), false)
	c.mu.Unlock()
	if !changed {
		return nil
	}
	// New names: answer with what they select. LDS and CDS answers carry everything.
	return c.respond(w, prepareOpts{force: fullStateType(t)})
}

// setSotWNames sets a watch's subscription from a state-of-the-world request and reports
// whether it changed. LDS and CDS with no names are wildcard (the legacy form) when that
// is how the subscription started; "*" asks for a wildcard explicitly. Names dropped
// from a named subscription are forgotten, so subscribing again sends them again.
func setSotWNames(w *watch, names []string, first bool) bool {
	wildcard := slices.Contains(names, "*") ||
		(len(names) == 0 && fullStateType(w.typeURL) && (first || w.wildcard))
	set := make(map[resourceName]struct{}, len(names))
	for _, n := range names {
		if n != "*" {
			set[internName(n)] = struct{}{}
		}
	}
	changed := wildcard != w.wildcard || !maps.Equal(set, w.names)
	w.wildcard, w.names = wildcard, set
	if !wildcard {
		for n := range w.sent {
			if _, ok := set[n]; !ok {
				delete(w.sent, n)
			}
		}
	}
	return changed
}

// rejected reports whether the response with nonce was NACKed: later requests that
// carry the same nonce (to change subscriptions) are not ACKs.
func (w *watch) rejected(nonce string) bool { return w.nack != nil && w.nack.nonce == nonce }

// ack records that the node applied the response with nonce.
func (c *connection) ack(w *watch, version, nonce string) {
	c.answered(nonce)
	c.mu.Lock()
	defer c.mu.Unlock()
	w.ackedVersion, w.ackedNonce, w.nack = version, nonce, nil
}

// nack records that the node rejected the response with nonce. The node keeps its last
// good config; the server sends nothing more for the type until what it generates
// changes.
func (c *connection) nack(w *watch, nonce, message string) {
	c.answered(nonce)
	c.mu.Lock()
	w.nack = &nackState{version: w.sentVersion, nonce: nonce, message: message, at: time.Now()}
	c.mu.Unlock()
	c.s.m.rejects.WithLabelValues(ShortType(w.typeURL)).Inc()
	c.s.log.Warn("config rejected", "connection", c.id, "type", ShortType(w.typeURL), "version", w.sentVersion,
		"error", message)
}
