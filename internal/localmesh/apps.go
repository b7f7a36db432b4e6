package localmesh

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// bookinfoImage matches the images of Istio's bookinfo sample:
// registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3.
var bookinfoImage = regexp.MustCompile(`examples-bookinfo-([a-z]+)-(v[0-9a-z-]+)`)

// appCommand returns the weft arguments that stand in for a container: the demo app
// for a well-known image (listening on bind, when given), else the container's own
// command as a local process. Images cannot be pulled here.
func appCommand(self string, c Container, bind string) (path string, args []string, err error) {
	port := ""
	if len(c.Ports) > 0 {
		port = strconv.Itoa(int(c.Ports[0].ContainerPort))
	}
	withPort := func(a []string) []string {
		if port != "" {
			a = append(a, "--port", port)
		}
		if bind != "" {
			a = append(a, "--bind", bind)
		}
		return a
	}
	img := c.Image
	switch m := bookinfoImage.FindStringSubmatch(img); {
	case m != nil:
		return self, withPort([]string{"demo", "bookinfo", m[1], "--version", m[2]}), nil
	case strings.Contains(img, "httpbin"):
		return self, withPort([]string{"demo", "httpbin"}), nil
	case strings.Contains(img, "curl") || strings.Contains(img, "sleep"):
		return self, []string{"demo", "sleep"}, nil
	case len(c.Command) > 0:
		return c.Command[0], append(append([]string{}, c.Command[1:]...), c.Args...), nil
	}
	return "", nil, fmt.Errorf("container %q: image %q cannot be run here: give it a command, or use a bookinfo, httpbin or curl image", c.Name, img)
}

// containerEnv returns a container's environment, with HOSTNAME set to the pod name as
// Kubernetes does.
func containerEnv(c Container, podName string) []string {
	env := []string{"HOSTNAME=" + podName}
	for _, e := range c.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}
