package route

import "strings"

// fieldError is a config error located at a field path such as
// "virtual_hosts[0].routes[2].match.safe_regex".
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }

func (e *fieldError) Unwrap() error { return e.err }

// at prefixes err's field path with field. It returns nil when err is nil.
func at(field string, err error) error {
	if err == nil {
		return nil
	}
	if fe, ok := err.(*fieldError); ok {
		sep := "."
		if strings.HasPrefix(fe.path, "[") {
			sep = ""
		}
		return &fieldError{path: field + sep + fe.path, err: fe.err}
	}
	return &fieldError{path: field, err: err}
}
