//! CloudWatch Embedded Metric Format, as its specification defines it
//! (docs.aws.amazon.com, "Specification: Embedded metric format"): the lines
//! of a function's output that carry metrics, each checked against the
//! specification so a malformed one fails the test instead of being dropped
//! by CloudWatch in production.

use serde_json::Value;

/// The units CloudWatch accepts.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Every line of `output` that is an EMF document (a JSON object with an
/// `_aws` member), after checking each against the specification.
pub fn documents(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v.get("_aws").is_some())
        .inspect(|doc| {
            if let Err(e) = check(doc) {
                panic!("not valid EMF ({e}): {doc}");
            }
        })
        .collect()
}

/// The EMF documents that define metric `name`.
pub fn with_metric<'a>(documents: &'a [Value], name: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .filter(|doc| {
            doc["_aws"]["CloudWatchMetrics"].as_array().is_some_and(|ds| {
                ds.iter().any(|d| d["Metrics"].as_array().is_some_and(|ms| ms.iter().any(|m| m["Name"] == name)))
            })
        })
        .collect()
}

/// The specification's rules for one document.
pub fn check(doc: &Value) -> Result<(), String> {
    let root = doc.as_object().ok_or("the root is not an object")?;
    let aws = root["_aws"].as_object().ok_or("_aws is not an object")?;
    aws.get("Timestamp").and_then(Value::as_u64).ok_or("_aws.Timestamp is not a number of milliseconds")?;
    let directives = aws.get("CloudWatchMetrics").and_then(Value::as_array).ok_or("no CloudWatchMetrics array")?;
    for directive in directives {
        let namespace = directive["Namespace"].as_str().ok_or("a directive has no Namespace")?;
        if namespace.trim().is_empty() || namespace.len() > 1024 {
            return Err(format!("bad Namespace {namespace:?}"));
        }
        for set in directive["Dimensions"].as_array().ok_or("Dimensions is not an array")? {
            let keys = set.as_array().ok_or("a dimension set is not an array")?;
            if keys.len() > 30 {
                return Err("a dimension set has more than 30 keys".into());
            }
            for key in keys {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                root.get(key).and_then(Value::as_str).ok_or(format!("dimension {key} is not a string member"))?;
            }
        }
        let metrics = directive["Metrics"].as_array().ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics in a directive".into());
        }
        for metric in metrics {
            let name = metric["Name"].as_str().filter(|n| !n.is_empty()).ok_or("a metric has no Name")?;
            let value = root.get(name).ok_or(format!("metric {name} has no member"))?;
            let numbers =
                value.is_number() || value.as_array().is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number));
            if !numbers {
                return Err(format!("metric {name} is not a number or an array of numbers"));
            }
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().unwrap_or_default();
                if !UNITS.contains(&unit) {
                    return Err(format!("metric {name} has unit {unit:?}"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_checker_refuses_what_the_specification_refuses() {
        let good = json!({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "Ferry",
            "Dimensions": [["Task"]], "Metrics": [{"Name": "Jobs", "Unit": "Count"}]}]}, "Task": "x", "Jobs": 1});
        assert_eq!(check(&good), Ok(()));
        let mut no_member = good.clone();
        no_member.as_object_mut().unwrap().remove("Jobs");
        assert!(check(&no_member).is_err());
        let mut bad_unit = good.clone();
        bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Things");
        assert!(check(&bad_unit).is_err());
        let mut number_dimension = good.clone();
        number_dimension["Task"] = json!(3);
        assert!(check(&number_dimension).is_err());
        let mut no_timestamp = good;
        no_timestamp["_aws"].as_object_mut().unwrap().remove("Timestamp");
        assert!(check(&no_timestamp).is_err());
    }
}
