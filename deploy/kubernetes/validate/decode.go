package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kinds are the objects opsbot's manifests may hold, by apiVersion and
// kind; anything else is refused rather than passed unchecked.
var kinds = map[string]func() runtime.Object{
	"v1/Namespace":                       func() runtime.Object { return &corev1.Namespace{} },
	"v1/ConfigMap":                       func() runtime.Object { return &corev1.ConfigMap{} },
	"v1/Secret":                          func() runtime.Object { return &corev1.Secret{} },
	"v1/Service":                         func() runtime.Object { return &corev1.Service{} },
	"apps/v1/Deployment":                 func() runtime.Object { return &appsv1.Deployment{} },
	"batch/v1/Job":                       func() runtime.Object { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":      func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy": func() runtime.Object { return &networkingv1.NetworkPolicy{} },
}

// object is one decoded manifest document.
type object struct {
	file string // base name of the file it came from
	kind string
	obj  runtime.Object
	meta *metav1.ObjectMeta
}

func (o object) String() string {
	name := o.meta.Name
	if name == "" {
		name = o.meta.GenerateName + "*"
	}
	return fmt.Sprintf("%s: %s %s", o.file, o.kind, name)
}

// kustomization is the part of kustomization.yaml opsbot uses; any other
// field is refused so that the validator is told about it.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeStrict turns one YAML document into v the way the API server
// would, and stricter: unknown and duplicate fields are errors, field names
// are case-sensitive, and a number is not a string.
func decodeStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// loadDir decodes every *.yaml file of dir except kustomization.yaml,
// which it returns apart (nil when there is none).
func loadDir(dir string) ([]object, *kustomization, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	var objs []object
	var kust *kustomization
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		base := filepath.Base(f)
		if base == "kustomization.yaml" {
			kust = &kustomization{}
			if err := decodeStrict(data, kust); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", base, err))
			}
			continue
		}
		for i, doc := range docSeparator.Split(string(data), -1) {
			o, ok, err := decodeDoc(base, []byte(doc))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (document %d): %w", base, i+1, err))
				continue
			}
			if ok {
				objs = append(objs, o)
			}
		}
	}
	if len(files) == 0 {
		errs = append(errs, fmt.Errorf("%s: no *.yaml manifests", dir))
	}
	return objs, kust, errors.Join(errs...)
}

// decodeDoc decodes one document; ok is false for an empty one.
func decodeDoc(file string, doc []byte) (object, bool, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return object{}, false, err
	}
	if tm.APIVersion == "" && tm.Kind == "" {
		if strings.TrimSpace(stripComments(string(doc))) == "" {
			return object{}, false, nil
		}
		return object{}, false, errors.New("apiVersion and kind are missing")
	}
	key := tm.APIVersion + "/" + tm.Kind
	newObj, ok := kinds[key]
	if !ok {
		return object{}, false, fmt.Errorf("%s is not a kind opsbot's manifests use (add it to the validator with its rules)", key)
	}
	obj := newObj()
	if err := decodeStrict(doc, obj); err != nil {
		return object{}, false, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	meta, err := objectMeta(obj)
	if err != nil {
		return object{}, false, err
	}
	return object{file: file, kind: tm.Kind, obj: obj, meta: meta}, true, nil
}

func objectMeta(obj runtime.Object) (*metav1.ObjectMeta, error) {
	m, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m.GetObjectMeta().(*metav1.ObjectMeta), nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
