package ads

import (
	"time"
)

// Sync states, as istioctl proxy-status prints them.
const (
	Synced  = "SYNCED"
	NotSent = "NOT SENT"
	Stale   = "STALE"
)

// SyncStatus is one connection's entry in /debug/syncz. The top-level fields are
// istiod's (the *_sent and *_acked fields hold nonces, as istiod's do); Resources adds
// per type URL the versions, the last NACK and the number of resources held.
type SyncStatus struct {
	ClusterID     string `json:"cluster_id,omitempty"`
	ProxyID       string `json:"proxy,omitempty"`
	ProxyType     string `json:"proxy_type,omitempty"`
	ProxyVersion  string `json:"proxy_version,omitempty"`
	IstioVersion  string `json:"istio_version,omitempty"`
	ClusterSent   string `json:"cluster_sent,omitempty"`
	ClusterAcked  string `json:"cluster_acked,omitempty"`
	ListenerSent  string `json:"listener_sent,omitempty"`
	ListenerAcked string `json:"listener_acked,omitempty"`
	RouteSent     string `json:"route_sent,omitempty"`
	RouteAcked    string `json:"route_acked,omitempty"`
	EndpointSent  string `json:"endpoint_sent,omitempty"`
	EndpointAcked string `json:"endpoint_acked,omitempty"`

	// NodeID is the full xDS node ID; ProxyID is name.namespace when the ID has Istio's form.
	NodeID              string                    `json:"node_id"`
	ConnectionID        string                    `json:"connection_id"`
	ControlPlane        string                    `json:"control_plane,omitempty"`
	ControlPlaneVersion string                    `json:"control_plane_version,omitempty"`
	Resources           map[string]ResourceStatus `json:"resources,omitempty"`
}

// ResourceStatus is a connection's state for one type URL.
type ResourceStatus struct {
	// Sent and Acked are the nonces of the last response sent and of the last one ACKed.
	Sent         string    `json:"sent,omitempty"`
	Acked        string    `json:"acked,omitempty"`
	SentVersion  string    `json:"sentVersion,omitempty"`
	AckedVersion string    `json:"ackedVersion,omitempty"`
	SentTime     time.Time `json:"sentTime,omitzero"`
	// LastError is the error detail of the last NACK, cleared by the next ACK;
	// NackedVersion is the version that was rejected.
	LastError     string    `json:"lastError,omitempty"`
	NackedVersion string    `json:"nackedVersion,omitempty"`
	NackTime      time.Time `json:"nackTime,omitzero"`
	// Resources is how many resources of the type the node holds.
	Resources int  `json:"resources"`
	Wildcard  bool `json:"wildcard,omitempty"`
}

// State returns SYNCED when the last response was ACKed, NOT SENT when none was sent,
// and STALE when it is unacknowledged or was NACKed.
func (r ResourceStatus) State() string {
	switch {
	case r.Sent == "":
		return NotSent
	case r.Sent == r.Acked && r.LastError == "":
		return Synced
	}
	return Stale
}

// State returns the sync state of one type URL.
func (s SyncStatus) State(typeURL string) string {
	r, ok := s.Resources[typeURL]
	if !ok {
		return NotSent
	}
	return r.State()
}

// AdsClient is one connection in /debug/adsz.
type AdsClient struct {
	ConnectionID string            `json:"connectionId"`
	ConnectedAt  time.Time         `json:"connectedAt"`
	PeerAddress  string            `json:"address"`
	NodeID       string            `json:"node"`
	Delta        bool              `json:"delta,omitempty"`
	UserAgent    string            `json:"userAgent,omitempty"`
	Labels       map[string]string `json:"labels"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	// Watches maps each watched type URL to its resource names; "*" is a wildcard.
	Watches map[string][]string `json:"watches,omitempty"`
}

// AdsClients is the body of /debug/adsz.
type AdsClients struct {
	Total     int         `json:"totalClients"`
	Connected []AdsClient `json:"clients,omitempty"`
}

// proxyName is istiod's proxy ID: name.namespace, or the node ID when it has no name.
func proxyName(c *connection) string {
	if c.node.Name == "" {
		return c.node.ID
	}
	return c.node.Name + "." + c.node.Namespace
}

func (c *connection) syncStatus() SyncStatus {
	st := SyncStatus{ClusterID: c.node.Metadata["CLUSTER_ID"], ProxyID: proxyName(c), ProxyType: string(c.node.Type),
		ProxyVersion: c.userAgent, IstioVersion: c.node.Metadata["ISTIO_VERSION"], NodeID: c.node.ID, ConnectionID: c.id,
		ControlPlane: c.s.opts.ID, ControlPlaneVersion: c.s.opts.Version, Resources: map[string]ResourceStatus{}}
	c.mu.Lock()
	for t, w := range c.watches {
		r := ResourceStatus{Sent: w.sentNonce, Acked: w.ackedNonce, SentVersion: w.sentVersion,
			AckedVersion: w.ackedVersion, SentTime: w.sentTime, Resources: len(w.sent), Wildcard: w.wildcard}
		if w.nack != nil {
			r.LastError, r.NackedVersion, r.NackTime = w.nack.message, w.nack.version, w.nack.at
		}
		st.Resources[t] = r
	}
	c.mu.Unlock()
	legacy := func(t string, sent, acked *string) {
		*sent, *acked = st.Resources[t].Sent, st.Resources[t].Acked
	}
	legacy(ClusterType, &st.ClusterSent, &st.ClusterAcked)
	legacy(ListenerType, &st.ListenerSent, &st.ListenerAcked)
	legacy(RouteType, &st.RouteSent, &st.RouteAcked)
	legacy(EndpointType, &st.EndpointSent, &st.EndpointAcked)
	return st
}

func (c *connection) adsClient() AdsClient {
	a := AdsClient{ConnectionID: c.id, ConnectedAt: c.connectedAt, PeerAddress: c.peer, NodeID: c.node.ID,
		Delta: c.delta, UserAgent: c.userAgent, Labels: c.node.Labels, Metadata: c.node.Metadata,
		Watches: map[string][]string{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, w := range c.watches {
		names := w.nameList()
		if w.wildcard {
			names = append([]string{"*"}, names...)
		}
		a.Watches[t] = names
	}
	return a
}
