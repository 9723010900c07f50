//! `aws_iam_authorization_details` and `aws_iam_credential_report`.
