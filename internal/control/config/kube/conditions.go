package kube

import (
	"time"

	analysisv1alpha1 "istio.io/api/analysis/v1alpha1"
	metav1alpha1 "istio.io/api/meta/v1alpha1"
)

// The status the writer maintains.
const (
	// ConditionAccepted is the condition type: "False" while the object fails
	// validation, "True" once an object that failed is fixed.
	ConditionAccepted = "Accepted"
	// ReasonInvalid and ReasonAccepted are the condition's reasons.
	ReasonInvalid  = "SchemaValidationError"
	ReasonAccepted = "Accepted"
	// ValidationCode and ValidationName identify Istio's analysis message for a
	// schema validation error.
	ValidationCode = "IST0106"
	ValidationName = "SchemaValidationError"
	validationURL  = "https://istio.io/latest/docs/reference/config/analysis/ist0106/"
	// maxMessage bounds the condition message.
	maxMessage = 4096
)

// condition is an IstioCondition as it is written to the API server: JSON with the
// CRD's field names, observedGeneration as a number.
type condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	LastProbeTime      string `json:"lastProbeTime,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
}

// validationMessage is an AnalysisMessageBase as it is written to the API server.
type validationMessage struct {
	Type             *messageType `json:"type,omitempty"`
	Level            string       `json:"level,omitempty"`
	DocumentationURL string       `json:"documentationUrl,omitempty"`
}

type messageType struct {
	Name string `json:"name,omitempty"`
	Code string `json:"code,omitempty"`
}

// desiredStatus computes an object's conditions and validation messages from its
// current status and its validation result, and reports whether they differ from the
// current ones. Conditions and messages that are not the writer's are kept as they
// are.
func desiredStatus(cur statusMessage, invalid bool, reason string, generation int64, now time.Time) ([]condition, []validationMessage, bool) {
	var conds []condition
	var ours *metav1alpha1.IstioCondition
	for _, c := range cur.GetConditions() {
		if c.GetType() == ConditionAccepted {
			ours = c
			continue
		}
		conds = append(conds, conditionJSON(c))
	}
	want, condChanged := acceptedCondition(ours, invalid, reason, generation, now)
	if want != nil {
		conds = append(conds, *want)
	}
	var msgs []validationMessage
	hadMsg := false
	for _, m := range cur.GetValidationMessages() {
		if m.GetType().GetCode() == ValidationCode {
			hadMsg = true
			continue
		}
		msgs = append(msgs, messageJSON(m))
	}
	if invalid {
		msgs = append(msgs, validationMessage{Type: &messageType{Name: ValidationName, Code: ValidationCode},
			Level: analysisv1alpha1.AnalysisMessageBase_ERROR.String(), DocumentationURL: validationURL})
	}
	return conds, msgs, condChanged || hadMsg != invalid
}

// acceptedCondition returns the Accepted condition the object should carry (nil for
// none) and whether it differs from the current one. A valid object that never failed
// carries none; a fixed one keeps its True condition without being rewritten on later
// edits.
func acceptedCondition(cur *metav1alpha1.IstioCondition, invalid bool, reason string, gen int64, now time.Time) (*condition, bool) {
	if !invalid {
		switch {
		case cur == nil:
			return nil, false
		case cur.GetStatus() == "True":
			c := conditionJSON(cur)
			return &c, false
		}
		return &condition{Type: ConditionAccepted, Status: "True", Reason: ReasonAccepted,
			LastTransitionTime: now.UTC().Format(time.RFC3339), ObservedGeneration: gen}, true
	}
	want := condition{Type: ConditionAccepted, Status: "False", Reason: ReasonInvalid,
		Message: truncate(reason, maxMessage), ObservedGeneration: gen}
	if cur != nil && cur.GetStatus() == want.Status && cur.GetReason() == want.Reason &&
		cur.GetMessage() == want.Message && cur.GetObservedGeneration() == gen {
		c := conditionJSON(cur)
		return &c, false
	}
	want.LastTransitionTime = now.UTC().Format(time.RFC3339)
	if cur != nil && cur.GetStatus() == want.Status && cur.GetLastTransitionTime() != nil {
		want.LastTransitionTime = cur.GetLastTransitionTime().AsTime().UTC().Format(time.RFC3339)
	}
	return &want, true
}

// conditionJSON converts a current condition for writing back.
func conditionJSON(c *metav1alpha1.IstioCondition) condition {
	out := condition{Type: c.GetType(), Status: c.GetStatus(), Reason: c.GetReason(), Message: c.GetMessage(),
		ObservedGeneration: c.GetObservedGeneration()}
	if t := c.GetLastProbeTime(); t != nil {
		out.LastProbeTime = t.AsTime().UTC().Format(time.RFC3339)
	}
	if t := c.GetLastTransitionTime(); t != nil {
		out.LastTransitionTime = t.AsTime().UTC().Format(time.RFC3339)
	}
	return out
}

// messageJSON converts a current validation message for writing back.
func messageJSON(m *analysisv1alpha1.AnalysisMessageBase) validationMessage {
	out := validationMessage{Level: m.GetLevel().String(), DocumentationURL: m.GetDocumentationUrl()}
	if t := m.GetType(); t != nil {
		out.Type = &messageType{Name: t.GetName(), Code: t.GetCode()}
	}
	return out
}
