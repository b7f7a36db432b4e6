package proxy

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// Environment variables the sidecar injector sets on the proxy container from the
// downward API, as for pilot-agent.
const (
	EnvPodName        = "POD_NAME"
	EnvPodNamespace   = "POD_NAMESPACE"
	EnvInstanceIP     = "INSTANCE_IP"
	EnvServiceAccount = "SERVICE_ACCOUNT"
	// metaPrefix marks node metadata: ISTIO_META_CLUSTER_ID=c becomes CLUSTER_ID: c.
	metaPrefix = "ISTIO_META_"
	// metaJSONLabels carries the labels as a JSON object (older injectors).
	metaJSONLabels = "ISTIO_METAJSON_LABELS"
)

// PodLabelsFile is where the injector's downward-API volume puts the pod's labels.
const PodLabelsFile = "/etc/istio/pod/labels"

// AgentFromEnv completes o from a pod's environment when o has no node ID, as
// pilot-agent does inside an injected pod: the ID
// "<type>~INSTANCE_IP~POD_NAME.POD_NAMESPACE~<domain>", node metadata from every
// ISTIO_META_* variable plus NAME, NAMESPACE, INSTANCE_IPS and SERVICE_ACCOUNT, and
// the labels from podLabels (the downward-API file's content, nil when there is
// none) or ISTIO_METAJSON_LABELS. What o sets (flags) wins over the environment.
// An o with a node ID is returned as it is: the environment is not read.
func AgentFromEnv(o AgentOptions, environ []string, podLabels []byte) (AgentOptions, error) {
	if o.NodeID != "" {
		return o, nil
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	name, ns, ip := env[EnvPodName], env[EnvPodNamespace], env[EnvInstanceIP]
	var missing []string
	for _, k := range []string{EnvPodName, EnvPodNamespace, EnvInstanceIP} {
		if env[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return o, fmt.Errorf("no --node-id, and %s not set: give --node-id, or run in a pod with the injector's environment",
			strings.Join(missing, ", "))
	}
	typ := orString(o.Type, "sidecar")
	if typ != "sidecar" && typ != "router" {
		return o, fmt.Errorf("proxy type %q: want sidecar or router", typ)
	}
	o.NodeID = fmt.Sprintf("%s~%s~%s.%s~%s", typ, ip, name, ns, orString(o.Domain, ns+".svc.cluster.local"))
	o.Metadata = envMetadata(o.Metadata, env)
	if len(o.Labels) == 0 {
		labels, err := podLabelsFrom(podLabels, env[metaJSONLabels])
		if err != nil {
			return o, err
		}
		o.Labels = labels
	}
	if o.Cluster == "" {
		o.Cluster = serviceCluster(o.Labels, o.Metadata, name) + "." + ns
	}
	return o, nil
}

// envMetadata merges the environment's node metadata under the given one.
func envMetadata(given, env map[string]string) map[string]string {
	md := map[string]string{}
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, metaPrefix); ok && name != "" {
			md[name] = v
		}
	}
	for key, name := range map[string]string{"NAME": EnvPodName, "NAMESPACE": EnvPodNamespace,
		"INSTANCE_IPS": EnvInstanceIP, "SERVICE_ACCOUNT": EnvServiceAccount} {
		if md[key] == "" && env[name] != "" {
			md[key] = env[name]
		}
	}
	maps.Copy(md, given)
	return md
}

// podLabelsFrom reads the labels from the downward-API file ("key=\"value\"" lines,
// values quoted as Go strings), or else from a JSON object.
func podLabelsFrom(file []byte, jsonLabels string) (map[string]string, error) {
	labels := map[string]string{}
	if file == nil {
		if jsonLabels == "" {
			return labels, nil
		}
		if err := json.Unmarshal([]byte(jsonLabels), &labels); err != nil {
			return nil, fmt.Errorf("%s: %w", metaJSONLabels, err)
		}
		return labels, nil
	}
	for i, line := range strings.Split(string(file), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, quoted, ok := strings.Cut(line, "=")
		v, err := strconv.Unquote(quoted)
		if !ok || k == "" || err != nil {
			return nil, fmt.Errorf("pod labels line %d: want key=\"value\", got %q", i+1, line)
		}
		labels[k] = v
	}
	return labels, nil
}

// serviceCluster names the workload for the node's cluster field, as Istio's
// --serviceCluster: the canonical service name, else the app label, else the
// workload name, else the pod name.
func serviceCluster(labels, md map[string]string, pod string) string {
	for _, v := range []string{labels["service.istio.io/canonical-name"], labels["app.kubernetes.io/name"],
		labels["app"], md["WORKLOAD_NAME"]} {
		if v != "" {
			return v
		}
	}
	return pod
}
