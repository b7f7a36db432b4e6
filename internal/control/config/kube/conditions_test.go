package kube

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
	analysisv1alpha1 "istio.io/api/analysis/v1alpha1"
	metav1alpha1 "istio.io/api/meta/v1alpha1"
)

func TestDesiredStatus(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)
	nowS, earlierS := now.Format(time.RFC3339), earlier.Format(time.RFC3339)
	reconciled := &metav1alpha1.IstioCondition{Type: "Reconciled", Status: "True", LastTransitionTime: timestamppb.New(earlier)}
	failed := &metav1alpha1.IstioCondition{Type: ConditionAccepted, Status: "False", Reason: ReasonInvalid, Message: "bad",
		ObservedGeneration: 2, LastTransitionTime: timestamppb.New(earlier)}
	ours := &analysisv1alpha1.AnalysisMessageBase{Type: &analysisv1alpha1.AnalysisMessageBase_Type{Name: ValidationName, Code: ValidationCode},
		Level: analysisv1alpha1.AnalysisMessageBase_ERROR}
	other := &analysisv1alpha1.AnalysisMessageBase{Type: &analysisv1alpha1.AnalysisMessageBase_Type{Name: "Deprecated", Code: "IST0002"},
		Level: analysisv1alpha1.AnalysisMessageBase_WARNING}
	ourMsg := validationMessage{Type: &messageType{Name: ValidationName, Code: ValidationCode}, Level: "ERROR", DocumentationURL: validationURL}
	otherMsg := validationMessage{Type: &messageType{Name: "Deprecated", Code: "IST0002"}, Level: "WARNING"}
	reconciledJSON := condition{Type: "Reconciled", Status: "True", LastTransitionTime: earlierS}
	cases := []struct {
		name    string
		cur     *metav1alpha1.IstioStatus
		invalid bool
		reason  string
		gen     int64
		conds   []condition
		msgs    []validationMessage
		changed bool
	}{
		{"valid, never failed: untouched", &metav1alpha1.IstioStatus{Conditions: []*metav1alpha1.IstioCondition{reconciled}}, false, "", 1,
			[]condition{reconciledJSON}, nil, false},
		{"turns invalid", &metav1alpha1.IstioStatus{Conditions: []*metav1alpha1.IstioCondition{reconciled},
			ValidationMessages: []*analysisv1alpha1.AnalysisMessageBase{other}}, true, "bad", 2,
			[]condition{reconciledJSON, {Type: ConditionAccepted, Status: "False", Reason: ReasonInvalid, Message: "bad", ObservedGeneration: 2, LastTransitionTime: nowS}},
			[]validationMessage{otherMsg, ourMsg}, true},
		{"still invalid, same error: untouched", &metav1alpha1.IstioStatus{Conditions: []*metav1alpha1.IstioCondition{failed},
			ValidationMessages: []*analysisv1alpha1.AnalysisMessageBase{ours}}, true, "bad", 2,
			[]condition{{Type: ConditionAccepted, Status: "False", Reason: ReasonInvalid, Message: "bad", ObservedGeneration: 2, LastTransitionTime: earlierS}},
			[]validationMessage{ourMsg}, false},
		{"invalid in a new way: message changes, transition time stays", &metav1alpha1.IstioStatus{Conditions: []*metav1alpha1.IstioCondition{failed},
			ValidationMessages: []*analysisv1alpha1.AnalysisMessageBase{ours}}, true, "worse", 3,
			[]condition{{Type: ConditionAccepted, Status: "False", Reason: ReasonInvalid, Message: "worse", ObservedGeneration: 3, LastTransitionTime: earlierS}},
			[]validationMessage{ourMsg}, true},
		{"fixed", &metav1alpha1.IstioStatus{Conditions: []*metav1alpha1.IstioCondition{failed},
			ValidationMessages: []*analysisv1alpha1.AnalysisMessageBase{ours, other}}, false, "", 4,
			[]condition{{Type: ConditionAccepted, Status: "True", Reason: ReasonAccepted, ObservedGeneration: 4, LastTransitionTime: nowS}},
			[]validationMessage{otherMsg}, true},
		{"fixed earlier: not rewritten on later edits", &metav1alpha1.IstioStatus{Conditions: []*metav1alpha1.IstioCondition{
			{Type: ConditionAccepted, Status: "True", Reason: ReasonAccepted, ObservedGeneration: 4, LastTransitionTime: timestamppb.New(earlier)}}}, false, "", 9,
			[]condition{{Type: ConditionAccepted, Status: "True", Reason: ReasonAccepted, ObservedGeneration: 4, LastTransitionTime: earlierS}},
			nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conds, msgs, changed := desiredStatus(c.cur, c.invalid, c.reason, c.gen, now)
			if diff := cmp.Diff(c.conds, conds); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.msgs, msgs); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if changed != c.changed {
				t.Errorf("changed = %v, want %v", changed, c.changed)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	long := "spec.http[0].route[0].weight: weight -5 must not be negative; spec.http[1].timeout: bad"
	if got := truncate(long, 40); len(got) > 40 || got[len(got)-3:] != "..." {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 40); got != "short" {
		t.Errorf("truncate = %q", got)
	}
}
