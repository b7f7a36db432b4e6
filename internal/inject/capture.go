package inject

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/weftmesh/weft/internal/iptables"
)

// captureValues are the defaults of the capture settings, by annotation.
type captureValues map[string]string

func (v ProxyValues) captureValues() captureValues {
	return captureValues{
		AnnotationIncludeOutboundIPs:   v.IncludeIPRanges,
		AnnotationExcludeOutboundIPs:   v.ExcludeIPRanges,
		AnnotationIncludeInboundPorts:  v.IncludeInboundPorts,
		AnnotationExcludeInboundPorts:  v.ExcludeInboundPorts,
		AnnotationIncludeOutboundPorts: v.IncludeOutboundPorts,
		AnnotationExcludeOutboundPorts: v.ExcludeOutboundPorts,
	}
}

// captureFlags says, for each annotation, the weft iptables flag it becomes, the
// config field it defaults from, and how to check it.
var captureFlags = []struct {
	annotation, flag, field string
	always                  bool // passed even when empty, as Istio's template does
	check                   func(string) error
}{
	{AnnotationIncludeOutboundIPs, "-i", "includeIPRanges", true, func(s string) error { _, err := iptables.ParsePrefixes(s); return err }},
	{AnnotationExcludeOutboundIPs, "-x", "excludeIPRanges", true, func(s string) error {
		if strings.TrimSpace(s) == "*" {
			return errors.New(`"*" would exclude every destination`)
		}
		_, err := iptables.ParsePrefixList(s)
		return err
	}},
	{AnnotationIncludeInboundPorts, "-b", "includeInboundPorts", true, func(s string) error { _, err := iptables.ParsePorts(s); return err }},
	{AnnotationExcludeInboundPorts, "-d", "excludeInboundPorts", true, portList},
	{AnnotationIncludeOutboundPorts, "-q", "includeOutboundPorts", false, portList},
	{AnnotationExcludeOutboundPorts, "-o", "excludeOutboundPorts", false, portList},
	{AnnotationKubevirtInterfaces, "-k", "", false, nil},
	{AnnotationRerouteVirtualIfaces, "-k", "", false, nil},
	{AnnotationExcludeInterfaces, "-c", "", false, nil},
}

func portList(s string) error { _, err := iptables.ParsePortList(s); return err }

// captureArgs builds weft iptables' arguments as Istio's template builds
// istio-iptables': outbound to 15001, inbound to 15006, uid 1337 excluded, then the
// capture annotations (or their defaults). The agent's ports 15090, 15021 and the
// status port are always excluded from inbound capture.
func captureArgs(def captureValues, ann map[string]string, mode string, statusPort int32) ([]string, error) {
	args := []string{"iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", mode}
	var errs []error
	for _, f := range captureFlags {
		v, ok := ann[f.annotation]
		source := "annotation " + f.annotation
		if !ok {
			v, source = def[f.annotation], "proxy."+f.field
		}
		if !ok && v == "" && !f.always {
			continue
		}
		if f.check != nil {
			if err := f.check(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
				continue
			}
		}
		if f.flag == "-d" {
			v = excludeInbound(v, statusPort)
		}
		args = append(args, f.flag, strings.TrimSpace(v))
	}
	return args, errors.Join(errs...)
}

// checkCapture checks the config's capture defaults.
func checkCapture(def captureValues) error {
	_, err := captureArgs(def, nil, "REDIRECT", 15020)
	return err
}

// excludeInbound prefixes the agent's ports to the excluded inbound ports.
func excludeInbound(user string, statusPort int32) string {
	ports := []string{"15090", "15021"}
	if statusPort > 0 {
		ports = append(ports, strconv.Itoa(int(statusPort)))
	}
	for _, p := range iptables.SplitList(user) {
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return strings.Join(ports, ",")
}
