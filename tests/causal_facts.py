"""Facts for checking ROME's finding on the embedded SmolLM2 (bench/causal_trace_facts.py):
each text ends where the object comes next and names its subject first. Written for this project."""

FACTS = [
    {"sub_label": "Eiffel Tower", "obj_label": "Paris", "template": "The [X] is located in the city of [Y]."},
    {"sub_label": "Colosseum", "obj_label": "Rome", "template": "The [X] is located in the city of [Y]."},
    {"sub_label": "Big Ben", "obj_label": "London", "template": "[X] is located in the city of [Y]."},
    {"sub_label": "Kremlin", "obj_label": "Moscow", "template": "The [X] is located in the city of [Y]."},
    {"sub_label": "Brandenburg Gate", "obj_label": "Berlin", "template": "The [X] is located in the city of [Y]."},
    {"sub_label": "Acropolis", "obj_label": "Athens", "template": "The [X] is located in the city of [Y]."},
    {"sub_label": "Louvre", "obj_label": "Paris", "template": "The [X] is a museum in the city of [Y]."},
    {"sub_label": "Great Wall", "obj_label": "China", "template": "The [X] is located in the country of [Y]."},
    {"sub_label": "Mount Fuji", "obj_label": "Japan", "template": "[X] is located in the country of [Y]."},
    {"sub_label": "Taj Mahal", "obj_label": "India", "template": "The [X] is located in the country of [Y]."},
    {"sub_label": "Sydney Opera House", "obj_label": "Australia", "template": "The [X] is located in the country of [Y]."},
    {"sub_label": "Nile River", "obj_label": "Egypt", "template": "The [X] flows through the country of [Y]."},
    {"sub_label": "Amazon River", "obj_label": "Brazil", "template": "The [X] flows through the country of [Y]."},
    {"sub_label": "Toyota", "obj_label": "Japan", "template": "[X] is a car company based in the country of [Y]."},
    {"sub_label": "Volkswagen", "obj_label": "Germany", "template": "[X] is a car company based in the country of [Y]."},
    {"sub_label": "Barack Obama", "obj_label": "Hawaii", "template": "[X] was born in the state of [Y]."},
    {"sub_label": "Albert Einstein", "obj_label": "Germany", "template": "[X] was born in the country of [Y]."},
    {"sub_label": "Leonardo da Vinci", "obj_label": "Italy", "template": "[X] was born in the country of [Y]."},
    {"sub_label": "iPhone", "obj_label": "Apple", "template": "The [X] is made by the company [Y]."},
    {"sub_label": "Windows", "obj_label": "Microsoft", "template": "[X] is an operating system made by [Y]."},
    {"sub_label": "Pizza", "obj_label": "Italy", "template": "[X] originally comes from the country of [Y]."},
    {"sub_label": "Sushi", "obj_label": "Japan", "template": "[X] originally comes from the country of [Y]."},
    {"sub_label": "Golden Gate Bridge", "obj_label": "San", "template": "The [X] is located in the city of [Y]."},
    {"sub_label": "Statue of Liberty", "obj_label": "New", "template": "The [X] is located in the city of [Y]."},
]
