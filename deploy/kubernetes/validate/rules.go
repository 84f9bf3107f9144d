package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"opsbot/configs"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The shape opsbot's deployment must keep (issue 10, docs/deploy.md).
const (
	wantReplicas = 3
	publicPort   = 8080 // OPSBOT_HTTP_ADDR: callbacks, webhooks, /healthz
	adminPort    = 9090 // OPSBOT_ADMIN_ADDR: /metrics, /readyz, pprof
)

// serverSecretFiles must all reach the server from a Secret.
var serverSecretFiles = []string{
	"OPSBOT_DB_FILE", "OPSBOT_REDIS_FILE", "OPSBOT_WECOM_SECRET_FILE", "OPSBOT_WECOM_TOKEN_FILE",
	"OPSBOT_WECOM_AES_KEY_FILE", "OPSBOT_WEBHOOK_TOKEN_FILE", "OPSBOT_WECOM_BOT_SECRET_FILE",
}

// secretVars are the settings that are secrets: only NAME_FILE may carry
// them, never a literal value in a manifest.
var secretVars = map[string]bool{
	"OPSBOT_DB": true, "OPSBOT_REDIS": true, "OPSBOT_WECOM_SECRET": true, "OPSBOT_WECOM_TOKEN": true,
	"OPSBOT_WECOM_AES_KEY": true, "OPSBOT_WECOM_ROBOT_KEY": true, "OPSBOT_PHONE_GATEWAY_URL": true,
	"OPSBOT_PHONE_GATEWAY_TOKEN": true, "OPSBOT_WEBHOOK_TOKEN": true, "OPSBOT_WECOM_BOT_SECRET": true,
}

// fileVars name a file that is not a secret (config, roster, catalogs).
var fileVars = map[string]bool{
	"OPSBOT_CONFIG": true, "OPSBOT_STAFF_FILE": true, "OPSBOT_ONCALL_FILE": true,
	"OPSBOT_SYSTEMS_FILE": true, "OPSBOT_DEPARTMENTS_FILE": true,
}

// checker gathers what is wrong, each line naming file, kind and object.
type checker struct {
	objs       []object
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
	problems   []string
}

func (c *checker) bad(o object, format string, args ...any) {
	c.problems = append(c.problems, o.String()+": "+fmt.Sprintf(format, args...))
}

// validateDir decodes the manifests of dir strictly and checks opsbot's
// rules on them; the error lists every problem found.
func validateDir(dir string) (int, error) {
	objs, kust, err := loadDir(dir)
	if err != nil {
		return 0, err
	}
	c := &checker{objs: objs, secrets: map[string]*corev1.Secret{}, configMaps: map[string]*corev1.ConfigMap{}}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.Secret:
			c.secrets[v.Name] = v
		case *corev1.ConfigMap:
			c.configMaps[v.Name] = v
		}
	}
	c.checkAll(dir, kust)
	if len(c.problems) > 0 {
		return len(objs), errors.New(strings.Join(c.problems, "\n"))
	}
	return len(objs), nil
}

func (c *checker) checkAll(dir string, kust *kustomization) {
	var deploys []object
	namespace := ""
	for _, o := range c.objs {
		c.checkName(o)
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			deploys = append(deploys, o)
		case *corev1.Namespace:
			namespace = v.Name
		}
	}
	if len(deploys) != 1 {
		c.problems = append(c.problems, fmt.Sprintf("want exactly one Deployment, found %d", len(deploys)))
		return
	}
	dep := deploys[0].obj.(*appsv1.Deployment)
	c.checkDeployment(deploys[0], dep)
	var sawService, sawPDB, sawPolicy bool
	for _, o := range c.objs {
		if _, ok := o.obj.(*corev1.Namespace); !ok && namespace != "" && o.meta.Namespace != namespace {
			c.bad(o, "namespace %q, want %q like namespace.yaml", o.meta.Namespace, namespace)
		}
		switch v := o.obj.(type) {
		case *corev1.Service:
			sawService = true
			c.checkService(o, v, dep)
		case *policyv1.PodDisruptionBudget:
			sawPDB = true
			c.checkPDB(o, v, dep)
		case *networkingv1.NetworkPolicy:
			sawPolicy = true
			c.checkNetworkPolicy(o, v, dep)
		case *batchv1.Job:
			c.checkJob(o, v)
		}
	}
	for what, saw := range map[string]bool{"Service": sawService, "PodDisruptionBudget": sawPDB, "NetworkPolicy": sawPolicy} {
		if !saw {
			c.problems = append(c.problems, "no "+what)
		}
	}
	c.checkKustomization(dir, kust, dep)
	sort.Strings(c.problems)
}

func (c *checker) checkName(o object) {
	name := o.meta.Name
	if name == "" {
		name = strings.TrimSuffix(o.meta.GenerateName, "-")
	}
	if name == "" {
		c.bad(o, "metadata.name is empty")
		return
	}
	check := validation.IsDNS1123Subdomain
	if o.kind == "Service" || o.kind == "Namespace" {
		check = validation.IsDNS1035Label
		if o.kind == "Namespace" {
			check = validation.IsDNS1123Label
		}
	}
	for _, msg := range check(name) {
		c.bad(o, "metadata.name %q: %s", name, msg)
	}
}

func (c *checker) checkDeployment(o object, d *appsv1.Deployment) {
	if d.Spec.Replicas == nil || *d.Spec.Replicas != wantReplicas {
		c.bad(o, "spec.replicas must be %d", wantReplicas)
	}
	if !selects(d.Spec.Selector, d.Spec.Template.Labels) {
		c.bad(o, "spec.selector does not select the pod template's labels")
	}
	c.checkPod(o, &d.Spec.Template.Spec, true)
}

func (c *checker) checkJob(o object, j *batchv1.Job) {
	if p := j.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
		c.bad(o, "restartPolicy must be Never or OnFailure, got %q", p)
	}
	c.checkPod(o, &j.Spec.Template.Spec, false)
}

// checkPod holds every pod opsbot runs to the same hardening; server adds
// the listeners, probes and the full set of secrets.
func (c *checker) checkPod(o object, spec *corev1.PodSpec, server bool) {
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		c.bad(o, "pod securityContext.runAsNonRoot must be true")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		c.bad(o, "pod securityContext.runAsUser must be a non-zero uid (65532 is the image's)")
	}
	podSeccomp := psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type != corev1.SeccompProfileTypeUnconfined
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		c.bad(o, "automountServiceAccountToken must be false: opsbot never calls the Kubernetes API")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	if len(spec.Containers) == 0 {
		c.bad(o, "no containers")
	}
	for i := range spec.InitContainers {
		c.checkContainer(o, &spec.InitContainers[i], volumes, podSeccomp, false)
	}
	for i := range spec.Containers {
		c.checkContainer(o, &spec.Containers[i], volumes, podSeccomp, server && i == 0)
	}
}

func (c *checker) checkContainer(o object, ct *corev1.Container, volumes map[string]corev1.Volume, podSeccomp, server bool) {
	at := func(format string, args ...any) {
		c.bad(o, "container %s: "+format, append([]any{ct.Name}, args...)...)
	}
	if ref := ct.Image; ref == "" || (!strings.Contains(path.Base(ref), ":") && !strings.Contains(ref, "@")) || strings.HasSuffix(ref, ":latest") {
		at("image %q must name a version (a tag other than latest, or a digest)", ref)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := ct.Resources.Requests[r]
		lim, okLim := ct.Resources.Limits[r]
		if !okReq {
			at("resources.requests.%s is not set", r)
		}
		if !okLim {
			at("resources.limits.%s is not set", r)
		}
		if okReq && okLim && req.Cmp(lim) > 0 {
			at("resources.requests.%s %s is above its limit %s", r, req.String(), lim.String())
		}
	}
	sc := ct.SecurityContext
	switch {
	case sc == nil:
		at("no securityContext")
	default:
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			at("securityContext.allowPrivilegeEscalation must be false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			at("securityContext.readOnlyRootFilesystem must be true")
		}
		if sc.Privileged != nil && *sc.Privileged {
			at("securityContext.privileged must not be true")
		}
		if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			at("securityContext.runAsNonRoot must not be false")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			at("securityContext.runAsUser must not be 0")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			at("securityContext.capabilities.drop must contain ALL")
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			at("securityContext.capabilities.add must be empty")
		}
		if !podSeccomp && (sc.SeccompProfile == nil || sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined) {
			at("a seccompProfile (RuntimeDefault) must be set on the pod or the container")
		}
	}
	mounts := c.checkMounts(at, ct, volumes)
	c.checkEnv(at, ct, mounts)
	if server {
		c.checkServer(o, at, ct, mounts)
	}
}

// mount is a volume as the container sees it.
type mount struct {
	path   string
	volume corev1.Volume
}

func (c *checker) checkMounts(at func(string, ...any), ct *corev1.Container, volumes map[string]corev1.Volume) []mount {
	var mounts []mount
	tmp := false
	for _, m := range ct.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			at("volumeMount %s names no volume of the pod", m.Name)
			continue
		}
		mounts = append(mounts, mount{path: m.MountPath, volume: v})
		if (v.ConfigMap != nil || v.Secret != nil) && !m.ReadOnly {
			at("volumeMount %s (%s) must be readOnly", m.Name, m.MountPath)
		}
		if v.ConfigMap != nil {
			if _, ok := c.configMaps[v.ConfigMap.Name]; !ok && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
				at("volume %s: no ConfigMap %q among the manifests", v.Name, v.ConfigMap.Name)
			}
		}
		if v.Secret != nil {
			if _, ok := c.secrets[v.Secret.SecretName]; !ok {
				at("volume %s: no Secret %q among the manifests (keep a secret.example.yaml naming its keys)", v.Name, v.Secret.SecretName)
			}
		}
		if m.MountPath == "/tmp" && v.EmptyDir != nil {
			tmp = true
		}
	}
	if !tmp {
		at("/tmp must be an emptyDir mount (the root filesystem is read-only)")
	}
	// Longest first, so a path resolves to the innermost mount.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].path) > len(mounts[j].path) })
	return mounts
}

// resolve finds the mount and key a file path of the container names; key
// is empty when the path lies on no ConfigMap or Secret mount.
func resolve(mounts []mount, file string) (mount, string) {
	for _, m := range mounts {
		prefix := strings.TrimSuffix(m.path, "/") + "/"
		if rel, ok := strings.CutPrefix(file, prefix); ok {
			return m, projectedKey(m.volume, rel)
		}
	}
	return mount{}, ""
}

// projectedKey maps a file name under a volume back to its key, through
// items when the volume lists them.
func projectedKey(v corev1.Volume, rel string) string {
	var items []corev1.KeyToPath
	switch {
	case v.ConfigMap != nil:
		items = v.ConfigMap.Items
	case v.Secret != nil:
		items = v.Secret.Items
	default:
		return ""
	}
	if len(items) == 0 {
		return rel
	}
	for _, it := range items {
		if it.Path == rel {
			return it.Key
		}
	}
	return ""
}

func (c *checker) secretValue(v corev1.Volume, key string) (string, bool) {
	s, ok := c.secrets[v.Secret.SecretName]
	if !ok {
		return "", false
	}
	if val, ok := s.StringData[key]; ok {
		return val, true
	}
	val, ok := s.Data[key]
	return string(val), ok
}

func (c *checker) configValue(v corev1.Volume, key string) (string, bool) {
	cm, ok := c.configMaps[v.ConfigMap.Name]
	if !ok {
		return "", false
	}
	val, ok := cm.Data[key]
	return val, ok
}

// checkEnv: secrets come only through NAME_FILE, and every file variable
// names a key that exists in a mounted Secret (or, for non-secrets, a
// ConfigMap).
func (c *checker) checkEnv(at func(string, ...any), ct *corev1.Container, mounts []mount) {
	for _, e := range ct.Env {
		if secretVars[e.Name] {
			at("env %s carries a secret in the manifest; use %s_FILE and the Secret", e.Name, e.Name)
			continue
		}
		if !strings.HasSuffix(e.Name, "_FILE") && !fileVars[e.Name] {
			continue
		}
		if e.ValueFrom != nil || !path.IsAbs(e.Value) {
			at("env %s must be an absolute file path", e.Name)
			continue
		}
		m, key := resolve(mounts, e.Value)
		isSecret := secretVars[strings.TrimSuffix(e.Name, "_FILE")]
		switch {
		case key == "":
			at("env %s=%s points into no mounted Secret or ConfigMap key", e.Name, e.Value)
		case isSecret && m.volume.Secret == nil:
			at("env %s=%s must point into a mounted Secret", e.Name, e.Value)
		case m.volume.Secret != nil:
			if _, ok := c.secretValue(m.volume, key); !ok {
				at("env %s=%s: Secret %q has no key %q", e.Name, e.Value, m.volume.Secret.SecretName, key)
			}
		case m.volume.ConfigMap != nil:
			if _, ok := c.configValue(m.volume, key); !ok {
				at("env %s=%s: ConfigMap %q has no key %q", e.Name, e.Value, m.volume.ConfigMap.Name, key)
			}
		}
	}
}

func envValue(ct *corev1.Container, name string) (string, bool) {
	for _, e := range ct.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// containerPort resolves a probe's or a Service's port to a number.
func containerPort(ct *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range ct.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

func (c *checker) checkServer(o object, at func(string, ...any), ct *corev1.Container, mounts []mount) {
	ports := map[int32]bool{}
	for _, p := range ct.Ports {
		ports[p.ContainerPort] = true
	}
	if !ports[publicPort] || !ports[adminPort] {
		at("must declare containerPorts %d (public) and %d (admin)", publicPort, adminPort)
	}
	if v, ok := envValue(ct, "OPSBOT_HTTP_ADDR"); ok && !strings.HasSuffix(v, fmt.Sprintf(":%d", publicPort)) {
		at("OPSBOT_HTTP_ADDR=%q must listen on %d", v, publicPort)
	}
	if v, _ := envValue(ct, "OPSBOT_ADMIN_ADDR"); v != fmt.Sprintf(":%d", adminPort) && v != fmt.Sprintf("0.0.0.0:%d", adminPort) {
		at("OPSBOT_ADMIN_ADDR must be \":%d\": its default, loopback, is out of the kubelet's reach", adminPort)
	}
	probe := func(name string, p *corev1.Probe, wantPath string, wantPort int32) {
		switch {
		case p == nil:
			at("no %s", name)
		case p.HTTPGet == nil:
			at("%s must be an httpGet", name)
		case p.HTTPGet.Path != wantPath || containerPort(ct, p.HTTPGet.Port) != wantPort:
			at("%s must ask %s on port %d, asks %s on %s", name, wantPath, wantPort, p.HTTPGet.Path, p.HTTPGet.Port.String())
		}
	}
	probe("readinessProbe", ct.ReadinessProbe, "/readyz", adminPort)
	probe("livenessProbe", ct.LivenessProbe, "/healthz", publicPort)
	for _, name := range serverSecretFiles {
		if _, ok := envValue(ct, name); !ok {
			at("env %s is missing", name)
		}
	}
	c.checkConfig(at, ct, mounts)
}

// checkConfig loads the ConfigMap's config, roster and rota with opsbot's
// own strict loaders, with the container's environment and the example
// Secret's values, so a typo in a key fails here and not at start-up.
func (c *checker) checkConfig(at func(string, ...any), ct *corev1.Container, mounts []mount) {
	tmp, err := os.MkdirTemp("", "opsbot-validate-")
	if err != nil {
		at("%v", err)
		return
	}
	defer os.RemoveAll(tmp)
	n := 0
	// materialise writes the value behind a mounted file to a temp file.
	materialise := func(file string) (string, bool) {
		m, key := resolve(mounts, file)
		var val string
		var ok bool
		switch {
		case key == "":
		case m.volume.Secret != nil:
			val, ok = c.secretValue(m.volume, key)
		case m.volume.ConfigMap != nil:
			val, ok = c.configValue(m.volume, key)
		}
		if !ok {
			return "", false
		}
		n++
		p := filepath.Join(tmp, fmt.Sprintf("%d-%s", n, filepath.Base(key)))
		if err := os.WriteFile(p, []byte(val), 0o600); err != nil {
			return "", false
		}
		return p, true
	}
	env := map[string]string{}
	for _, e := range ct.Env {
		env[e.Name] = e.Value
		if strings.HasSuffix(e.Name, "_FILE") || e.Name == "OPSBOT_CONFIG" {
			if p, ok := materialise(e.Value); ok {
				env[e.Name] = p
			}
		}
	}
	if _, ok := envValue(ct, "OPSBOT_CONFIG"); !ok {
		at("env OPSBOT_CONFIG must name the mounted config.yaml")
		return
	}
	cfg, err := configs.Load(func(k string) string { return env[k] })
	if err != nil {
		at("config: %v", err)
		return
	}
	if err := cfg.Validate(); err != nil {
		at("config does not validate: %v", err)
	}
	for _, f := range []struct {
		what, path string
		load       func(string) error
	}{
		{"staff_file", cfg.StaffFile, func(p string) error { _, err := configs.LoadStaff(p); return err }},
		{"oncall_file", cfg.OnCallFile, func(p string) error { _, err := configs.LoadOnCall(p); return err }},
	} {
		if f.path == "" {
			at("config %s is empty: name the mounted real file", f.what)
			continue
		}
		p, ok := materialise(f.path)
		if !ok {
			at("config %s=%s is no key of a mounted ConfigMap", f.what, f.path)
			continue
		}
		if err := f.load(p); err != nil {
			at("config %s: %v", f.what, err)
		}
	}
}

func selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labels.Set(podLabels))
}

func (c *checker) checkService(o object, s *corev1.Service, d *appsv1.Deployment) {
	if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		c.bad(o, "selector does not select the Deployment's pods")
	}
	ct := &d.Spec.Template.Spec.Containers[0]
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		if got := containerPort(ct, target); got != publicPort {
			c.bad(o, "port %s targets %s (container port %d); a Service exposes only the public port %d", p.Name, target.String(), got, publicPort)
		}
	}
}

func (c *checker) checkPDB(o object, p *policyv1.PodDisruptionBudget, d *appsv1.Deployment) {
	if !selects(p.Spec.Selector, d.Spec.Template.Labels) {
		c.bad(o, "selector does not select the Deployment's pods")
	}
	switch {
	case p.Spec.MaxUnavailable == nil && p.Spec.MinAvailable == nil:
		c.bad(o, "set maxUnavailable (or minAvailable)")
	case p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int && p.Spec.MinAvailable.IntVal >= wantReplicas:
		c.bad(o, "minAvailable %d of %d replicas would block every node drain", p.Spec.MinAvailable.IntVal, wantReplicas)
	case p.Spec.MaxUnavailable != nil && p.Spec.MaxUnavailable.Type == intstr.Int && p.Spec.MaxUnavailable.IntVal < 1:
		c.bad(o, "maxUnavailable 0 would block every node drain")
	}
}

func (c *checker) checkNetworkPolicy(o object, np *networkingv1.NetworkPolicy, d *appsv1.Deployment) {
	// An empty podSelector selects every pod of the namespace, opsbot's too.
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		c.bad(o, "podSelector does not select the Deployment's pods")
	}
	for _, other := range c.objs {
		if j, ok := other.obj.(*batchv1.Job); ok && (err != nil || !sel.Matches(labels.Set(j.Spec.Template.Labels))) {
			c.bad(o, "podSelector leaves the pods of %s unguarded", other)
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		c.bad(o, "policyTypes must list Ingress and Egress")
	}
	ct := &d.Spec.Template.Spec.Containers[0]
	for i, r := range np.Spec.Ingress {
		if len(r.Ports) == 0 {
			c.bad(o, "ingress rule %d admits every port; list only the public port %d", i+1, publicPort)
		}
		for _, p := range r.Ports {
			if p.Port == nil || p.EndPort != nil || containerPort(ct, *p.Port) != publicPort {
				c.bad(o, "ingress rule %d admits a port other than the public port %d", i+1, publicPort)
			}
		}
	}
	egress := map[int32]bool{}
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			if p.Port != nil && p.Port.Type == intstr.Int {
				egress[p.Port.IntVal] = true
			}
		}
	}
	for port, what := range map[int32]string{53: "DNS", 5432: "PostgreSQL", 6379: "Redis"} {
		if !egress[port] {
			c.bad(o, "egress to %s (port %d) is not admitted", what, port)
		}
	}
}

// checkKustomization: every manifest is either applied by the
// kustomization or deliberately left out (an example Secret, a Job created
// once per upgrade), and the image override names the Deployment's image.
func (c *checker) checkKustomization(dir string, k *kustomization, d *appsv1.Deployment) {
	if k == nil {
		return
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		c.problems = append(c.problems, "kustomization.yaml: apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization")
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		listed[r] = true
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			c.problems = append(c.problems, fmt.Sprintf("kustomization.yaml: resource %s: %v", r, err))
		}
	}
	for _, o := range c.objs {
		_, isJob := o.obj.(*batchv1.Job)
		if !listed[o.file] && !isJob && !strings.HasSuffix(o.file, ".example.yaml") {
			c.bad(o, "not in kustomization.yaml resources (only *.example.yaml and Jobs stay out)")
		}
		if listed[o.file] && (isJob || strings.HasSuffix(o.file, ".example.yaml")) {
			c.bad(o, "must stay out of kustomization.yaml")
		}
	}
	image := d.Spec.Template.Spec.Containers[0].Image
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	for _, im := range k.Images {
		if im.Name != repo {
			c.problems = append(c.problems, fmt.Sprintf("kustomization.yaml: images entry %q matches no image (the Deployment runs %q)", im.Name, repo))
		}
	}
}
