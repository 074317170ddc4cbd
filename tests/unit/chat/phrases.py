"""The phrase table: sentences about clients of three models, each with its exact reading.

Rows are (model, language, sentence, features, implausible). ``implausible`` names the values
the chat must ask about instead of scoring. ``churn`` exists only in the tests
(tests/support/chat_model/).
"""

from __future__ import annotations

from typing import NamedTuple

NO_DOUBTS: dict[str, float | int | str] = {}

Value = float | int | str


class Row(NamedTuple):
    model: str
    language: str
    text: str
    features: dict[str, Value]
    implausible: dict[str, Value] = NO_DOUBTS
    negation: bool = False


def _neg(model: str, language: str, text: str, features: dict[str, Value]) -> Row:
    return Row(model, language, text, features, {}, True)


# The sentences the issue measured on the old chat, with the right answers.
ISSUE = [
    Row(
        "churn",
        "en",
        "I have been a customer for 12 months, month-to-month contract, fiber optic, "
        "pay 70 a month",
        {
            "tenure": 12,
            "MonthlyCharges": 70,
            "Contract": "Month-to-month",
            "InternetService": "Fiber optic",
        },
    ),
    _neg("bank", "en", "never defaulted", {"default": "no"}),
    _neg("bank", "en", "previous campaign was not successful", {"poutcome": "failure"}),
    _neg("bank", "en", "I am not a student", {}),
    _neg("bank", "es", "No estoy jubilado", {}),
    Row("bank", "en", "worked 42 years", {}),
    Row("bank", "en", "age 200", {}, {"age": 200}),
    Row("telecom", "en", "1.5k minutes", {"minutes": 1500}),
]

BANK = [
    Row(
        "bank",
        "es",
        "Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado",
        {"age": 45, "balance": 1200, "housing": "yes", "job": "technician", "marital": "married"},
    ),
    _neg(
        "bank",
        "es",
        "Soy jubilada, viuda, estudios primarios, sin hipoteca ni préstamo",
        {
            "job": "retired",
            "marital": "divorced",
            "education": "primary",
            "housing": "no",
            "loan": "no",
        },
    ),
    Row(
        "bank",
        "es",
        "Tengo 3.500 euros en el banco y un préstamo personal",
        {"balance": 3500, "loan": "yes"},
    ),
    _neg(
        "bank",
        "es",
        "sin impagos, contactado 3 veces en mayo por móvil",
        {"default": "no", "campaign": 3, "month": "may", "contact": "cellular"},
    ),
    Row("bank", "es", "la campaña anterior fue un éxito", {"poutcome": "success"}),
    Row(
        "bank",
        "es",
        "obrero, 38 años, casado, secundaria, teléfono fijo",
        {
            "job": "blue-collar",
            "age": 38,
            "marital": "married",
            "education": "secondary",
            "contact": "telephone",
        },
    ),
    Row(
        "bank",
        "es",
        "Soy autónomo, divorciado, universidad, saldo de -300 €",
        {"job": "self-employed", "marital": "divorced", "education": "tertiary", "balance": -300},
    ),
    Row(
        "bank",
        "es",
        "emprendedor de 50 años con hipoteca, contactado el 15 de junio",
        {"job": "entrepreneur", "age": 50, "housing": "yes", "day": 15, "month": "jun"},
    ),
    Row(
        "bank",
        "es",
        "empleada doméstica, soltera, 27 años, saldo 516,7",
        {"job": "housemaid", "marital": "single", "age": 27, "balance": 516.7},
    ),
    Row(
        "bank",
        "es",
        "gerente, casado, 2.500 € de saldo, nunca contactado antes",
        {"job": "management", "marital": "married", "balance": 2500, "previous": 0, "pdays": -1},
    ),
    _neg(
        "bank",
        "es",
        "Estudiante de 22 años, soltero, sin hipoteca",
        {"job": "student", "age": 22, "marital": "single", "housing": "no"},
    ),
    Row("bank", "es", "desempleado, edad 55", {"job": "unemployed", "age": 55}),
    Row(
        "bank",
        "es",
        "trabajo en servicios, hipoteca no, préstamo sí",
        {"job": "services", "housing": "no", "loan": "yes"},
    ),
    Row(
        "bank",
        "es",
        "administrativa, casada, 1 200 euros de saldo",
        {"job": "admin.", "marital": "married", "balance": 1200},
    ),
    Row(
        "bank",
        "es",
        "TENGO 45 AÑOS, CASADO, CAMPAÑA ANTERIOR FRACASO, CELULAR, EN OCTUBRE",
        {
            "age": 45,
            "marital": "married",
            "poutcome": "failure",
            "contact": "cellular",
            "month": "oct",
        },
    ),
    Row("bank", "es", "el día 12 de marzo", {"day": 12, "month": "mar"}),
    Row("bank", "es", "Hola, me llamo Ana y tengo 29 años", {"age": 29}),
    Row(
        "bank",
        "es",
        "directivo con estudios universitarios, ahorros de 12.000 euros, en mora",
        {"job": "management", "education": "tertiary", "balance": 12000, "default": "yes"},
    ),
    _neg(
        "bank",
        "es",
        "no tengo hipoteca, tengo un préstamo, contactado 2 veces antes",
        {"housing": "no", "loan": "yes", "previous": 2},
    ),
    Row(
        "bank",
        "es",
        "Divorciada, 61 años, con 3 mil euros en la cuenta, llamada hace 90 días",
        {"marital": "divorced", "age": 61, "balance": 3000, "pdays": 90},
    ),
    _neg("bank", "es", "no estoy casada, tengo 33 años", {"marital": "single", "age": 33}),
    _neg("bank", "es", "nunca he estado en mora", {"default": "no"}),
    _neg("bank", "es", "no soy estudiante, soy técnica", {"job": "technician"}),
    _neg("bank", "es", "la campaña anterior no fue un éxito", {"poutcome": "failure"}),
    _neg("bank", "es", "sin préstamo personal y con hipoteca", {"loan": "no", "housing": "yes"}),
    _neg("bank", "es", "no tengo ni hipoteca ni préstamo", {"housing": "no", "loan": "no"}),
    _neg("bank", "es", "jubilado, no tengo impagos", {"job": "retired", "default": "no"}),
    Row("bank", "es", "saldo de 1.250,50 euros", {"balance": 1250.5}),
    Row("bank", "es", "saldo 2,5k", {"balance": 2500}),
    Row("bank", "es", "en descubierto 400 euros", {"balance": -400}),
    Row("bank", "es", "tengo 150 años", {}, {"age": 150}),
    Row("bank", "es", "saldo de 5 millones", {}, {"balance": 5_000_000}),
    Row("bank", "es", "trabajé 30 años en una fábrica", {}),
    Row("bank", "es", "contactado 80 veces en esta campaña", {}, {"campaign": 80}),
    Row("bank", "es", "edad: 12", {}, {"age": 12}),
    # English
    _neg(
        "bank",
        "en",
        "I'm 30, single, no housing loan, balance 2,500",
        {"age": 30, "marital": "single", "housing": "no", "balance": 2500},
    ),
    Row(
        "bank",
        "en",
        "I am a 52 year old retired teacher with a mortgage and a personal loan",
        {"age": 52, "job": "retired", "housing": "yes", "loan": "yes"},
    ),
    _neg(
        "bank",
        "en",
        "I have 3k in the bank, no personal loan, not in default",
        {"balance": 3000, "loan": "no", "default": "no"},
    ),
    Row(
        "bank",
        "en",
        "Contacted in May, called 2 times, on a landline",
        {"month": "may", "campaign": 2, "contact": "telephone"},
    ),
    Row(
        "bank",
        "en",
        "previous campaign failed, contacted 4 times before",
        {"poutcome": "failure", "previous": 4},
    ),
    Row(
        "bank",
        "en",
        "the previous campaign succeeded; last contacted 30 days ago",
        {"poutcome": "success", "pdays": 30},
    ),
    Row(
        "bank",
        "en",
        "blue collar worker aged 41, married, high school, mobile phone",
        {
            "job": "blue-collar",
            "age": 41,
            "marital": "married",
            "education": "secondary",
            "contact": "cellular",
        },
    ),
    Row(
        "bank",
        "en",
        "self-employed, divorced, university degree, balance of -1.200",
        {"job": "self-employed", "marital": "divorced", "education": "tertiary", "balance": -1200},
    ),
    Row(
        "bank",
        "en",
        "I'm an entrepreneur, 33 years old, contacted on 5 March",
        {"job": "entrepreneur", "age": 33, "day": 5, "month": "mar"},
    ),
    Row(
        "bank",
        "en",
        "manager, married, $2,500 in savings, never contacted before",
        {"job": "management", "marital": "married", "balance": 2500, "previous": 0, "pdays": -1},
    ),
    Row("bank", "en", "student, 21, single", {"job": "student", "age": 21, "marital": "single"}),
    Row(
        "bank",
        "en",
        "unemployed, age 47, in default",
        {"job": "unemployed", "age": 47, "default": "yes"},
    ),
    Row(
        "bank",
        "en",
        "services, housing: yes, loan: no, default: no",
        {"job": "services", "housing": "yes", "loan": "no", "default": "no"},
    ),
    Row(
        "bank",
        "en",
        "admin., married, contacted in august, previous outcome: other",
        {"job": "admin.", "marital": "married", "month": "aug", "poutcome": "other"},
    ),
    Row(
        "bank",
        "en",
        "I work in management, I have a tertiary education, contacted 1 time",
        {"job": "management", "education": "tertiary", "campaign": 1},
    ),
    Row(
        "bank",
        "en",
        "job=technician month=nov day=20 campaign=2 pdays=-1",
        {"job": "technician", "month": "nov", "day": 20, "campaign": 2, "pdays": -1},
    ),
    _neg(
        "bank",
        "en",
        "my age is 64 and I am retired, with no mortgage",
        {"age": 64, "job": "retired", "housing": "no"},
    ),
    _neg(
        "bank",
        "en",
        "married with a mortgage, I don't have a personal loan",
        {"marital": "married", "housing": "yes", "loan": "no"},
    ),
    Row(
        "bank",
        "en",
        "Housemaid, 60 yo, primary school, widowed, balance 516.7 euros",
        {
            "job": "housemaid",
            "age": 60,
            "education": "primary",
            "marital": "divorced",
            "balance": 516.7,
        },
    ),
    Row(
        "bank",
        "en",
        "TECHNICIAN AGED 29, SINGLE, CALLED 3 TIMES IN JULY ON HIS CELL PHONE",
        {
            "job": "technician",
            "age": 29,
            "marital": "single",
            "campaign": 3,
            "month": "jul",
            "contact": "cellular",
        },
    ),
    _neg("bank", "en", "not married, 40 years old", {"marital": "single", "age": 40}),
    _neg("bank", "en", "she is not unemployed", {"job": "blue-collar"}),
    _neg("bank", "en", "without a mortgage or a loan", {"housing": "no", "loan": "no"}),
    _neg(
        "bank",
        "en",
        "he has never been in default and has a housing loan",
        {"default": "no", "housing": "yes"},
    ),
    _neg("bank", "en", "the last campaign didn't work", {"poutcome": "failure"}),
    _neg("bank", "en", "I'm not retired, I'm 58", {"age": 58}),
    _neg("bank", "en", "no mortgage but a car loan", {"housing": "no", "loan": "yes"}),
    Row("bank", "en", "balance 1,234.56 dollars", {"balance": 1234.56}),
    Row("bank", "en", "overdrawn by 250", {"balance": -250}),
    Row("bank", "en", "I may get a mortgage", {"housing": "yes"}),
    Row("bank", "en", "I'm 17, a student", {"job": "student"}, {"age": 17}),
    Row("bank", "en", "balance 250k, 45 years old", {"age": 45}, {"balance": 250_000}),
    Row("bank", "en", "called 99 times", {}, {"campaign": 99}),
    Row("bank", "en", "job: astronaut, age 40", {"age": 40}, {"job": "astronaut"}),
    Row("bank", "es", "Tengo 1.500€ ahorrados, 39 años", {"balance": 1500, "age": 39}),
    Row("bank", "en", "I'm 35 and I have 10,000 euros of savings", {"age": 35, "balance": 10000}),
    Row(
        "bank",
        "es",
        "llamado el 3 de febrero, 2 contactos previos",
        {"day": 3, "month": "feb", "previous": 2},
    ),
    Row("bank", "en", "contacted on the 21st of November", {"day": 21, "month": "nov"}),
    _neg("bank", "en", "I have no personal loan and I am not divorced", {"loan": "no"}),
]

TELECOM = [
    Row(
        "telecom",
        "es",
        "hago 85 llamadas, 516 minutos, 56 SMS y uso 22 GB",
        {"calls": 85, "minutes": 516, "messages": 56, "mb_used": 22 * 1024},
    ),
    Row(
        "telecom",
        "en",
        "85 calls, 516.7 minutes, 56 messages, 22696 MB",
        {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696},
    ),
    Row(
        "telecom",
        "en",
        "calls: 40, minutes: 311,5, messages 12, data 1.5 GB",
        {"calls": 40, "minutes": 311.5, "messages": 12, "mb_used": 1536},
    ),
    Row(
        "telecom",
        "es",
        "Hago unas 120 llamadas al mes, 1.050 minutos, 10 mensajes y gasto 15.000 MB",
        {"calls": 120, "minutes": 1050, "messages": 10, "mb_used": 15000},
    ),
    Row(
        "telecom",
        "es",
        "uso 22.696,96 megas de datos y 516,7 min",
        {"mb_used": 22696.96, "minutes": 516.7},
    ),
    Row("telecom", "en", "I send 3 texts and use 2 GB of data", {"messages": 3, "mb_used": 2048}),
    Row("telecom", "en", "calls 85 minutes 516", {"calls": 85, "minutes": 516}),
    Row("telecom", "en", "85 calls 516 minutes", {"calls": 85, "minutes": 516}),
    Row("telecom", "es", "3,5 GB de datos y 20 sms", {"mb_used": 3584, "messages": 20}),
    Row("telecom", "en", "10 hours of calls a month", {"minutes": 600}),
    Row("telecom", "es", "1.200 minutos y 2 gigas", {"minutes": 1200, "mb_used": 2048}),
    Row("telecom", "en", "2,048 MB, 14 messages", {"mb_used": 2048, "messages": 14}),
    Row("telecom", "en", "about 60 calls and 0.5 GB", {"calls": 60, "mb_used": 512}),
    Row("telecom", "es", "datos: 800 megas", {"mb_used": 800}),
    Row("telecom", "en", "messages=0 calls=0", {"messages": 0, "calls": 0}),
    Row(
        "telecom",
        "en",
        "I make 40 calls, 300 minutes and use 15 GB",
        {"calls": 40, "minutes": 300, "mb_used": 15360},
    ),
    Row(
        "telecom",
        "en",
        "1.5k minutes, 20 texts, 3,5 GB de datos",
        {"minutes": 1500, "messages": 20, "mb_used": 3584},
    ),
    Row("telecom", "en", "5000 calls a month", {}, {"calls": 5000}),
    Row("telecom", "es", "uso 2 TB de datos", {}, {"mb_used": 2 * 1048576}),
    Row("telecom", "en", "3000 minutes, 10 messages", {"messages": 10}, {"minutes": 3000}),
    Row("telecom", "es", "900 mensajes", {}, {"messages": 900}),
    Row("telecom", "en", "-5 calls", {}, {"calls": -5}),
    _neg("telecom", "en", "no messages, 30 calls", {"calls": 30}),
    Row("telecom", "es", "gasto 1,5 gigas y hago 200 minutos", {"minutes": 200, "mb_used": 1536}),
    Row("telecom", "en", "mb_used 18000, calls 70", {"calls": 70, "mb_used": 18000}),
]

CHURN = [
    Row(
        "churn",
        "es",
        "Cliente desde hace 2 años, contrato de dos años, sin internet, pago 25 € al mes",
        {"tenure": 24, "MonthlyCharges": 25, "Contract": "Two year", "InternetService": "No"},
    ),
    Row(
        "churn",
        "en",
        "tenure 30, Contract: One year, DSL, partner yes",
        {"tenure": 30, "Contract": "One year", "InternetService": "DSL", "Partner": "Yes"},
    ),
    Row(
        "churn",
        "en",
        "tenure=5 MonthlyCharges=99.5 Contract=Month-to-month InternetService=Fiber optic",
        {
            "tenure": 5,
            "MonthlyCharges": 99.5,
            "Contract": "Month-to-month",
            "InternetService": "Fiber optic",
        },
    ),
    _neg("churn", "en", "no partner, 3 years as a customer", {"Partner": "No", "tenure": 36}),
    _neg(
        "churn",
        "es",
        "sin pareja, fibra óptica, 89,90 € al mes",
        {"Partner": "No", "InternetService": "Fiber optic", "MonthlyCharges": 89.9},
    ),
    _neg(
        "churn",
        "en",
        "I don't have internet, I pay 20 dollars a month",
        {"InternetService": "No", "MonthlyCharges": 20},
    ),
    Row(
        "churn",
        "es",
        "contrato mes a mes, 6 meses, pago 70 euros al mes, con pareja",
        {"tenure": 6, "MonthlyCharges": 70, "Contract": "Month-to-month", "Partner": "Yes"},
    ),
    Row(
        "churn",
        "en",
        "a customer for 1 year, annual contract, fibre",
        {"tenure": 12, "Contract": "One year", "InternetService": "Fiber optic"},
    ),
    Row(
        "churn",
        "en",
        "two year contract with adsl, bill 55.25 per month",
        {"Contract": "Two year", "InternetService": "DSL", "MonthlyCharges": 55.25},
    ),
    Row("churn", "es", "antigüedad 48 meses, factura 60,5", {"tenure": 48, "MonthlyCharges": 60.5}),
    Row("churn", "en", "customer for 100 years", {}, {"tenure": 1200}),
    Row("churn", "en", "I pay 500 a month", {}, {"MonthlyCharges": 500}),
    Row("churn", "es", "pago 5 € al mes, 10 meses", {"tenure": 10}, {"MonthlyCharges": 5}),
    _neg("churn", "en", "no fiber, month-to-month", {"Contract": "Month-to-month"}),
    _neg("churn", "es", "no tengo pareja", {"Partner": "No"}),
    Row("churn", "en", "with a partner, 24 months", {"Partner": "Yes", "tenure": 24}),
    Row("churn", "en", "MonthlyCharges 1,5k", {}, {"MonthlyCharges": 1500}),
    Row(
        "churn",
        "es",
        "llevo 18 meses con fibra y contrato de un año",
        {"tenure": 18, "Contract": "One year", "InternetService": "Fiber optic"},
    ),
    _neg("churn", "en", "not on a two year contract, 45.5 per month", {"MonthlyCharges": 45.5}),
]

TABLE = ISSUE + BANK + TELECOM + CHURN
