package configs

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Survey is the yearly satisfaction survey (年度满意度调查, tender 5.1):
// rated questions, one free comment at the end, and who is asked.
type Survey struct {
	Questions  []string         `yaml:"questions"`
	Recipients SurveyRecipients `yaml:"recipients"`
	Source     string           `yaml:"-"`
}

// SurveyRecipients are WeCom userids and/or departments (names or ids)
// whose members are asked.
type SurveyRecipients struct {
	Users       []string `yaml:"users"`
	Departments []string `yaml:"departments"`
}

// DefaultSurveyFile is read when rating.survey_file is empty and it exists.
const DefaultSurveyFile = "configs/survey.yaml"

// LoadSurvey reads the survey file; "" reads configs/survey.yaml, or the
// example when that does not exist.
func LoadSurvey(path string) (Survey, error) {
	var s Survey
	if path == "" {
		path = DefaultSurveyFile
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			path = "configs/survey.example.yaml"
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("survey: %w", err)
	}
	if err := decodeStrict(data, &s); err != nil {
		return s, fmt.Errorf("survey %s: %w", path, err)
	}
	s.Source = path
	var errs []error
	if len(s.Questions) == 0 || len(s.Questions) > 20 {
		errs = append(errs, fmt.Errorf("survey %s: questions: 1 to 20 questions, got %d", path, len(s.Questions)))
	}
	for i, q := range s.Questions {
		if strings.TrimSpace(q) == "" {
			errs = append(errs, fmt.Errorf("survey %s: questions[%d] is empty", path, i))
		}
	}
	if len(s.Recipients.Users)+len(s.Recipients.Departments) == 0 {
		errs = append(errs, fmt.Errorf("survey %s: recipients: name users or departments", path))
	}
	return s, errors.Join(errs...)
}
